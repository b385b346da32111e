"""A service that follows its configuration: checked, restarted (or reloaded) on change, enabled and running."""

from __future__ import annotations

from collections.abc import Sequence

from pyinfra.api.operation import OperationMeta
from pyinfra.operations import server, systemd
from pyinfra.operations.util import any_changed

from pyinfra_deploys.operations import unit
from pyinfra_deploys.stamp import manage_service


def restart_on_change(name: str, service: str, changes: Sequence[OperationMeta], check: list[str], reload: bool = False) -> None:
    """When any of ``changes`` changed: run ``check``, then restart ``service`` (reload with ``reload``).

    Always: the service enabled and running, and observed by the converge
    stamp. Host phase only: an image starts no services.
    """
    manage_service(service)
    server.shell(name=f"Check the {name} configuration", commands=check, _if=any_changed(*changes))
    systemd.service(
        name=f"{'Reload' if reload else 'Restart'} {name} for its new configuration",
        service=service,
        running=True,
        restarted=not reload,
        reloaded=reload,
        _if=any_changed(*changes),
    )
    enabled_and_running(name, service)


# Enabling a service that also ships a SysV script (postfix, dovecot, rspamd,
# redis-server) makes systemctl run update-rc.d, a Perl program, as well: 6 s
# of the 8 s it takes under emulation, for /etc/rc?.d links that systemd
# ignores when a native unit exists. SYSTEMCTL_SKIP_SYSV=1 skips that step;
# `systemctl is-enabled` reads the native unit either way.
NATIVE_ONLY = {"SYSTEMCTL_SKIP_SYSV": "1"}


def enabled_and_running(name: str, service: str) -> OperationMeta:
    """The systemd unit ``service`` enabled at boot and running now (enabled without a daemon-reload: operations.unit)."""
    return unit.enabled_and_running(name=f"{name} enabled and running", service=service, _env=NATIVE_ONLY)

"""A service that follows its configuration: checked, restarted (or reloaded) on change, enabled and running."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import server, systemd
from pyinfra.operations.util import any_changed

from pyinfra_deploys.operations import placed, unit
from pyinfra_deploys.stamp import manage_service


def restart_on_change(name: str, service: str, changes: Sequence[OperationMeta], check: list[str], reload: bool = False) -> None:
    """When any of ``changes`` changed: run ``check``, then restart ``service`` (reload with ``reload``).

    Always: the service enabled and running, and observed by the converge
    stamp. Host phase only: an image starts no services.
    """
    manage_service(service)
    server.shell(name=f"Check the {name} configuration", commands=check, _if=any_changed(*changes))
    unit.restarted(
        name=f"{'Reload' if reload else 'Restart'} {name} for its new configuration",
        service=service,
        reload=reload,
        _if=any_changed(*changes),
    )
    enabled_and_running(name, service)


# Enabling a service that also ships a SysV script (postfix, dovecot, rspamd,
# redis-server) makes systemctl run update-rc.d, a Perl program, as well: 6 s
# of the 8 s it takes under emulation, for /etc/rc?.d links that systemd
# ignores when a native unit exists. SYSTEMCTL_SKIP_SYSV=1 skips that step;
# `systemctl is-enabled` reads the native unit either way.
NATIVE_ONLY = {"SYSTEMCTL_SKIP_SYSV": "1"}


# Per host: the operations so far that enable or disable a unit, for systemd_reads_enablement.
_enabling: dict[str, list[OperationMeta]] = {}


def _enabling_op(meta: OperationMeta) -> OperationMeta:
    _enabling.setdefault(host.name, []).append(meta)
    return meta


def enabled_and_running(name: str, service: str) -> OperationMeta:
    """The systemd unit ``service`` enabled at boot and running now (enabled without a daemon-reload: operations.unit)."""
    return _enabling_op(unit.enabled_and_running(name=f"{name} enabled and running", service=service, _env=NATIVE_ONLY))


def enabled_at_boot(name: str, service: str) -> OperationMeta:
    """The systemd unit ``service`` enabled for the next boots, not started now (operations.unit)."""
    return _enabling_op(unit.enabled_at_boot(name=f"{name} enabled at boot", service=service, _env=NATIVE_ONLY))


def disabled_and_stopped(name: str, service: str) -> OperationMeta:
    """The systemd unit ``service`` disabled and stopped (disabled without a daemon-reload: operations.unit)."""
    return _enabling_op(unit.disabled_and_stopped(name=name, service=service, _env=NATIVE_ONLY))


def systemd_reads_enablement() -> None:
    """One daemon-reload after the host phase, when a unit was enabled or disabled (in either phase).

    Units are enabled with ``--no-reload`` (operations.unit), one reload for all
    of them here: until systemd reloads, systemd 255 marks every unit
    NeedDaemonReload and each ``systemctl`` command warns that unit files
    changed on disk.
    """
    systemd.daemon_reload(name="systemd reads the units enabled above", _if=any_changed(*_enabling.get(host.name, [])))


def known_unit_changed(units: dict[str, OperationMeta]) -> Callable[[], bool]:
    """Whether a unit file systemd had already read changed (``units``: path -> the operation placing it).

    Only then does a daemon-reload (and a timer's restart) have anything to do:
    systemd reads a unit it does not know when it is first started, and
    systemd_reads_enablement's reload after the host phase takes in the rest.
    A file whose prior state is unknown counts as known. On a new host this
    spares a reload per role (about 3.5 s each under emulation).
    """
    return lambda: any(meta.did_change() and placed.observed(path) != placed.MISSING for path, meta in units.items())

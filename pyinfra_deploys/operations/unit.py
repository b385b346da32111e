"""
A systemd unit enabled at boot and running now (or disabled and stopped), without reloading systemd.

pyinfra's ``systemd.service(enabled=True)`` runs ``systemctl enable``, which
ends with a full ``daemon-reload``: 3.3 s of the 3.5 s it takes on a lab VM
(measured under emulation), once per unit, six units on a new host. Enabling
is only the symlinks under ``/etc/systemd/system/*.wants``, which
``systemctl is-enabled`` and the next boot read from the disk, and ``start``
loads the unit by itself. So ``enable --no-reload`` here, and the caller
reloads once after all of them (systemd 255 marks every unit
NeedDaemonReload until then: pyinfra_deploys.service.systemd_reads_enablement);
a unit file this deploy changed is still re-read by the role's own
``daemon_reload``, before the unit starts.

.. code:: python

    from pyinfra_deploys.operations import unit

    unit.enabled_and_running(name="Dovecot enabled and running", service="dovecot")
"""

from __future__ import annotations

import shlex
from collections.abc import Generator
from typing import NamedTuple

from pyinfra import host
from pyinfra.api import FactBase, OperationError, QuoteString, StringCommand, operation
from typing_extensions import override

from pyinfra_deploys.layout import STAMP

SUFFIXES = (".service", ".socket", ".timer", ".target", ".path", ".mount")


def unit_name(service: str) -> str:
    """``dovecot`` is ``dovecot.service``; a name with a unit suffix stays as it is."""
    if not service or "/" in service or service.startswith("-"):
        raise OperationError(f"service must be a systemd unit name, got {service!r}")
    return service if service.endswith(SUFFIXES) else f"{service}.service"


class UnitState(NamedTuple):
    running: bool  # SubState as pyinfra's SystemdStatus counts it: running, waiting, exited, listening, mounted
    enabled: bool  # UnitFileState enabled or static, as pyinfra's SystemdEnabled


RUNNING = ("running", "waiting", "exited", "listening", "mounted")
ENABLED = ("enabled", "static")


class UnitStates(FactBase[dict[str, UnitState]]):
    """
    Whether each of ``units``, and each unit the last converge managed (its stamp's "service U" lines), runs and is enabled.

    .. code:: python

        {"postfix.service": UnitState(running=True, enabled=True)}

    One ``systemctl show`` for all of them, instead of two facts per unit.
    """

    @override
    def command(self, units: tuple[str, ...]) -> str:
        given = " ".join(shlex.quote(unit) for unit in units)
        return (
            f"systemctl show --property=Id --property=SubState --property=UnitFileState -- {given} "
            f"$(sed -n 's/^service //p' {STAMP} 2>/dev/null | sort -u)"
        )

    @override
    def process(self, output: list[str]) -> dict[str, UnitState]:
        found: dict[str, UnitState] = {}
        block: dict[str, str] = {}
        for line in [*output, ""]:
            key, sep, value = line.strip().partition("=")
            if sep:
                block[key] = value
            elif block:
                if "Id" in block:
                    found[block["Id"]] = UnitState(block.get("SubState") in RUNNING, block.get("UnitFileState") in ENABLED)
                block = {}
        return found


_states: dict[str, dict[str, UnitState]] = {}


def state_of(unit: str) -> UnitState:
    """``unit``'s state before this run changed any: read once for every unit the last converge managed."""
    seen = _states.setdefault(host.name, {})
    if unit not in seen:
        fetched: dict[str, UnitState] = host.get_fact(UnitStates, units=(unit,))
        seen.update(fetched)
    return seen.get(unit, UnitState(False, False))


def _switched(service: str, on: bool) -> Generator[StringCommand, None, None]:
    """``systemctl`` for what differs: start and enable (``on``), or stop and disable; both ``--no-reload``."""
    unit = unit_name(service)
    running, enabled = state_of(unit)
    if running != on:
        yield StringCommand("systemctl", "start" if on else "stop", QuoteString(unit))
    if enabled != on:
        yield StringCommand("systemctl", "enable" if on else "disable", "--no-reload", QuoteString(unit))
    if running == on and enabled == on:
        host.noop(f"{unit} is {'enabled and running' if on else 'disabled and stopped'}")


@operation()
def enabled_and_running(service: str) -> Generator[StringCommand, None, None]:
    """
    Start ``service`` unless it runs, enable it unless it is enabled (``--no-reload``).

    + service: the unit's name (``.service`` is added when it has no unit suffix)
    """
    yield from _switched(service, on=True)


@operation()
def disabled_and_stopped(service: str) -> Generator[StringCommand, None, None]:
    """
    Stop ``service`` if it runs, disable it if it is enabled (``--no-reload``).

    + service: the unit's name (``.service`` is added when it has no unit suffix)
    """
    yield from _switched(service, on=False)


@operation()
def enabled_at_boot(service: str) -> Generator[StringCommand, None, None]:
    """
    Enable ``service`` unless it is enabled (``--no-reload``); never start it now: a unit that acts once, at boot.

    + service: the unit's name (``.service`` is added when it has no unit suffix)
    """
    unit = unit_name(service)
    if state_of(unit).enabled:
        host.noop(f"{unit} is enabled")
    else:
        yield StringCommand("systemctl", "enable", "--no-reload", QuoteString(unit))


@operation()
def restarted(service: str, reload: bool = False) -> Generator[StringCommand, None, None]:
    """
    Restart ``service`` (``reload``: reload it, or start it when it is stopped); asks the host nothing.

    Meant with ``_if``: a restart follows a change. pyinfra's ``systemd.service(restarted=True)``
    first reads the unit's status, one more command under emulation for what systemctl decides
    by itself (``restart`` starts a stopped unit, ``reload-or-restart`` too).

    + service: the unit's name (``.service`` is added when it has no unit suffix)
    + reload: reload instead of restarting
    """
    yield StringCommand("systemctl", "reload-or-restart" if reload else "restart", QuoteString(unit_name(service)))

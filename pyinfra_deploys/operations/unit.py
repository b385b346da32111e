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

from collections.abc import Generator

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus

SUFFIXES = (".service", ".socket", ".timer", ".target", ".path", ".mount")


def unit_name(service: str) -> str:
    """``dovecot`` is ``dovecot.service``; a name with a unit suffix stays as it is."""
    if not service or "/" in service or service.startswith("-"):
        raise OperationError(f"service must be a systemd unit name, got {service!r}")
    return service if service.endswith(SUFFIXES) else f"{service}.service"


def _switched(service: str, on: bool) -> Generator[StringCommand, None, None]:
    """``systemctl`` for what differs: start and enable (``on``), or stop and disable; both ``--no-reload``."""
    unit = unit_name(service)
    running = bool(host.get_fact(SystemdStatus, services=[unit]).get(unit, False))
    enabled = bool(host.get_fact(SystemdEnabled, services=[unit]).get(unit, False))
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

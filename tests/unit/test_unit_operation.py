"""operations.unit: a unit started when stopped, enabled without a daemon-reload, nothing when both hold."""

from __future__ import annotations

import pytest
from pyinfra.api import OperationError
from pyinfra.context import ctx_host

from pyinfra_deploys.operations import unit
from pyinfra_deploys.operations.unit import UnitState, UnitStates
from tests.fakehost import FakeHost


def unit_host(running: bool, enabled: bool) -> FakeHost:
    """A host whose every unit asked for is in this state (read once per host)."""
    return FakeHost({UnitStates: lambda units: dict.fromkeys(units, UnitState(running, enabled))})


def run(fake: FakeHost, service: str) -> list[str]:
    with ctx_host.use(fake):
        return [command.get_raw_value() for command in unit.enabled_and_running._inner(service=service)]


@pytest.mark.parametrize(
    ("running", "enabled", "wanted"),
    [
        (False, False, ["systemctl start dovecot.service", "systemctl enable --no-reload dovecot.service"]),
        (True, False, ["systemctl enable --no-reload dovecot.service"]),
        (False, True, ["systemctl start dovecot.service"]),
        (True, True, []),
    ],
)
def test_only_what_is_missing_runs_and_enabling_never_reloads_systemd(running: bool, enabled: bool, wanted: list[str]) -> None:
    fake = unit_host(running, enabled)
    assert run(fake, "dovecot") == wanted
    assert fake.noops == ([] if wanted else ["dovecot.service is enabled and running"])


def test_a_timer_keeps_its_suffix() -> None:
    assert run(unit_host(False, True), "february-backup.timer") == ["systemctl start february-backup.timer"]


@pytest.mark.parametrize("service", ["", "-dovecot", "../dovecot"])
def test_a_name_that_is_no_unit_is_refused(service: str) -> None:
    with pytest.raises(OperationError, match="systemd unit name"):
        run(unit_host(True, True), service)


def test_the_states_of_every_unit_come_from_one_systemctl_show() -> None:
    output = [
        "Id=postfix.service",
        "SubState=running",
        "UnitFileState=enabled",
        "",
        "UnitFileState=disabled",
        "Id=certbot.timer",
        "SubState=dead",
        "",
        "Id=february-backup.timer",
        "SubState=waiting",
        "UnitFileState=enabled",
    ]
    assert UnitStates().process(output) == {
        "postfix.service": UnitState(True, True),
        "certbot.timer": UnitState(False, False),
        "february-backup.timer": UnitState(True, True),
    }
    command = UnitStates().command(units=("dovecot.service",))
    assert command.startswith("systemctl show --property=Id --property=SubState --property=UnitFileState -- dovecot.service ")
    assert "sed -n 's/^service //p'" in command  # and every unit the last converge managed

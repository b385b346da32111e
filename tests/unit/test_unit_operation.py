"""operations.unit: a unit started when stopped, enabled without a daemon-reload, nothing when both hold."""

from __future__ import annotations

from typing import Any

import pytest
from pyinfra.api import OperationError
from pyinfra.context import ctx_host
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus

from pyinfra_deploys.operations import unit


class FakeHost:
    def __init__(self, running: bool, enabled: bool) -> None:
        self.facts = {SystemdStatus: running, SystemdEnabled: enabled}
        self.noops: list[str] = []

    def get_fact(self, cls: type, **kwargs: Any) -> dict[str, bool]:
        (name,) = kwargs["services"]
        return {name: self.facts[cls]}

    def noop(self, description: str) -> None:
        self.noops.append(description)


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
    fake = FakeHost(running, enabled)
    assert run(fake, "dovecot") == wanted
    assert fake.noops == ([] if wanted else ["dovecot.service is enabled and running"])


def test_a_timer_keeps_its_suffix() -> None:
    assert run(FakeHost(False, True), "february-backup.timer") == ["systemctl start february-backup.timer"]


@pytest.mark.parametrize("service", ["", "-dovecot", "../dovecot"])
def test_a_name_that_is_no_unit_is_refused(service: str) -> None:
    with pytest.raises(OperationError, match="systemd unit name"):
        run(FakeHost(True, True), service)

"""Check 8: UFW is active with exactly the rules the settings describe."""

from __future__ import annotations

from february.vm.lifecycle import vm_settings
from pyinfra_deploys.roles.firewall import firewall_rules
from pyinfra_deploys.ufw.facts import UfwState
from tests.vm.mailvm import MailVm


def test_ufw_is_active_and_denies_incoming_by_default(mailvm: MailVm) -> None:
    status = mailvm.run("ufw status verbose").stdout
    assert "Status: active" in status
    # "disabled (routed)": routed policy deny while the kernel does not forward.
    assert "Default: deny (incoming), allow (outgoing)," in status


def test_ufw_has_exactly_the_rules_the_settings_describe(mailvm: MailVm) -> None:
    fact = UfwState()
    state = fact.process(mailvm.run(fact.command()).stdout.splitlines())
    wanted = firewall_rules(vm_settings())
    assert sorted(map(str, state["rules"])) == sorted(map(str, wanted))
    assert state["unmanaged"] == []


def test_submission_and_imaps_are_open_only_to_the_listed_networks(mailvm: MailVm) -> None:
    status = mailvm.run("ufw status").stdout
    lines = [line for line in status.splitlines() if line.startswith(("587/tcp", "993/tcp"))]
    sources = sorted({line.split()[-4] if "#" in line else line.split()[-1] for line in lines})
    assert sources == sorted(["192.168.1.0/24", "10.10.0.0/24", "10.0.2.0/24"])
    assert not any("Anywhere" in line for line in lines)

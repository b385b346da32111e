"""A firewall change that would strand the deployer: refused before any change, or, applied on purpose, undone by the host.

The VM sees every forwarded connection from the user-net gateway (10.0.2.2),
so `firewall.ssh_from: [192.168.1.0/24]` leaves this deployer out, as it
would an owner deploying from outside their LAN. Without the override the
deploy changes nothing. With it, the converge and its checks pass (the
deploy's own session stays open through UFW's conntrack), but a new SSH
connection cannot confirm the switch: the host puts the old rules back by
itself when its timer fires, and february checks that from a new
connection. Then a new connection gets in and mail flows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from february.remote import run
from february.vm import lifecycle
from pyinfra_deploys import layout
from tests.cli import february
from tests.vm.mailvm import MailVm, message
from tests.vm.sites import current_generation, generations, vm_inventory_with

RULES = f"sha256sum {layout.UFW_USER_RULES} {layout.UFW_USER6_RULES}"


@pytest.fixture(scope="module")
def lan_only_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    def change(overrides: dict[str, Any]) -> None:
        overrides["firewall"] = {"ssh_from": ["192.168.1.0/24"]}

    return vm_inventory_with(tmp_path_factory.mktemp("lan-only"), "lan_only", change)


def test_an_ssh_from_that_leaves_the_deployer_out_is_refused_before_any_change(mailvm: MailVm, lan_only_inventory: Path) -> None:
    rules, listed = mailvm.run(RULES).stdout, generations()
    done = february("deploy", str(lan_only_inventory))
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-2000:]
    assert "refused: firewall.ssh_from: the firewall would not let 10.0.2.2" in done.stdout, done.stdout[-3000:]
    assert "Nothing was changed" in done.stdout and "--allow-lockout" in done.stdout
    assert mailvm.run(RULES).stdout == rules
    assert generations() == listed


def test_applied_with_the_override_the_host_puts_its_old_rules_back_by_itself(mailvm: MailVm, lan_only_inventory: Path) -> None:
    rules, good = mailvm.run(RULES).stdout, current_generation()
    done = february("deploy", str(lan_only_inventory), "--allow-lockout")
    said = done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 2, said
    assert "applying it anyway (--allow-lockout)" in done.stdout, said
    assert "verified: Delivery, Ports, Relay, Rspamd, Services" in done.stdout, said  # over the open session
    assert "not confirmed: a new SSH connection failed" in done.stdout, said
    assert "went back by itself and is reached over a new SSH connection" in done.stdout, said
    *_, locked, back = generations()
    assert locked["reason"] == "converge" and locked["number"] > good["number"]
    assert back["current"] and back["reason"].startswith("automatic rollback: not confirmed over a new SSH connection")
    assert mailvm.run(RULES).stdout == rules
    # As the owner comes back: a new connection, then mail in and out.
    assert run(lifecycle.vm_host(), "true", check=False, fresh=True).returncode == 0
    with mailvm.smtp() as client:
        client.send_message(message("carol@example.net", "alice@example.test", "after the lockout"))
    mailvm.wait_for_message("alice@example.test", "after the lockout")
    with mailvm.submission("alice@example.test") as client:
        client.send_message(message("alice@example.test", "dave@example.net", "relayed after the lockout"))
    mailvm.wait_for_relayed("relayed after the lockout")
    # A rollback to the generation that locked the deployer out is refused the same way.
    refused = february("rollback", str(locked["number"]), "-i", str(lifecycle.VM_INVENTORY))
    assert refused.returncode == 2, refused.stdout[-3000:] + refused.stderr[-2000:]
    assert f"refused: generation {locked['number']}'s firewall would not let 10.0.2.2" in refused.stdout
    assert mailvm.run(RULES).stdout == rules

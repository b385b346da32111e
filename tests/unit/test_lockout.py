"""A firewall that would strand the deployer is known before any change: UFW's first match, from the address the host sees."""

from __future__ import annotations

from typing import Any

import pytest

from pyinfra_deploys.facts.connection import Seen, parse_ssh_connection
from pyinfra_deploys.roles.firewall import allowed_to_lock_out, firewall_rules, lockout
from pyinfra_deploys.settings import load_settings
from pyinfra_deploys.ufw.reach import admits
from pyinfra_deploys.ufw.rule import UfwRule


def rule(action: str, port: int | None, source: str = "any", proto: str = "tcp") -> UfwRule:
    return UfwRule(action, proto, port, source)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rules", "address", "admitted"),
    [
        ([rule("allow", 22)], "203.0.113.9", True),
        ([rule("allow", 22, "192.168.1.0/24")], "192.168.1.20", True),
        ([rule("allow", 22, "192.168.1.0/24")], "10.0.2.2", False),
        ([rule("allow", 22, "192.168.1.0/24")], "::ffff:192.168.1.20", True),  # IPv4-mapped: the IPv4 rule
        ([rule("allow", 22, "fd00::/8")], "192.168.1.20", False),
        ([rule("allow", 2222)], "192.168.1.20", False),  # another port
        ([rule("allow", None, "10.0.2.0/24")], "10.0.2.2", True),  # every port
        ([rule("allow", 22, proto="udp")], "10.0.2.2", False),
        ([rule("limit", 22)], "10.0.2.2", True),
        # The first rule that fits decides, as in UFW.
        ([rule("deny", 22, "10.0.2.2/32"), rule("allow", 22)], "10.0.2.2", False),
        ([rule("allow", 22), rule("deny", 22, "10.0.2.2/32")], "10.0.2.2", True),
        ([rule("reject", None)], "10.0.2.2", False),
        ([], "10.0.2.2", False),  # the default policy: deny
    ],
)
def test_the_first_rule_that_fits_decides_else_the_default_policy(rules: list[UfwRule], address: str, admitted: bool) -> None:
    assert admits(rules, address, 22) is admitted


def test_no_rule_fits_and_the_default_allows() -> None:
    assert admits([], "10.0.2.2", 22, default_incoming="allow")


def test_ssh_connection_is_read_as_the_host_sees_it() -> None:
    assert parse_ssh_connection("10.0.2.2 51234 10.0.2.15 22\n") == Seen("10.0.2.2", 22)
    assert parse_ssh_connection("fe80::1%eth0 4000 fe80::2%eth0 2222") == Seen("fe80::1%eth0", 2222)
    assert parse_ssh_connection("") is None  # not over SSH (the local connector)


def test_an_ssh_from_that_leaves_the_deployer_out_names_the_key_and_the_address(sample: dict[str, Any]) -> None:
    s = load_settings({**sample, "firewall": {"ssh_from": ["192.168.1.0/24"]}})
    assert lockout(s, Seen("192.168.1.20", 22)) is None
    said = lockout(s, Seen("10.0.2.2", 22))
    assert said is not None and said.startswith("firewall.ssh_from: the firewall would not let 10.0.2.2")
    assert "allow SSH on port 22 from 192.168.1.0/24" in said
    # Not the port the deployer reached sshd on: the port is the key to fix.
    moved = load_settings({**sample, "firewall": {"ssh_port": 2222}})
    said = lockout(moved, Seen("192.168.1.20", 22))
    assert said is not None and said.startswith("firewall.ssh_port:") and "on port 2222 from anywhere" in said
    # The mail ports' rules do not let SSH in, even from the submission networks.
    assert all(r.port != 22 for r in firewall_rules(s) if r.from_addr != "192.168.1.0/24")


def test_the_override_is_read_from_host_data_as_pyinfra_passes_it() -> None:
    assert allowed_to_lock_out("true") and allowed_to_lock_out(True) and allowed_to_lock_out("1")
    assert not allowed_to_lock_out(None) and not allowed_to_lock_out("false") and not allowed_to_lock_out("")

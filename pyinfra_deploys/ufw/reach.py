"""Whether a UFW rule set lets an address reach a port: the check that keeps a deploy from stranding its deployer.

UFW matches its user rules in order and the first that fits decides
(``allow``/``limit`` let the packet in, ``deny``/``reject`` do not); a
packet no rule fits meets the default incoming policy. Connections already
open survive a new rule set (conntrack), so a deploy whose own session
stays up proves nothing: the question is whether a *new* connection from
the deployer's address would get in.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from pyinfra_deploys.ufw.rule import UfwRule


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    found = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped  # ::ffff:10.0.2.2 is 10.0.2.2 to the IPv4 rules
    return found


def matches(rule: UfwRule, address: str, port: int, proto: str = "tcp") -> bool:
    """The rule applies to a new ``proto`` connection from ``address`` to local ``port``."""
    if rule.proto not in ("any", proto) or rule.port not in (None, port):
        return False
    if rule.from_addr == "any":
        return True
    return _address(address) in ipaddress.ip_network(rule.from_addr, strict=False)


def first_match(rules: Sequence[UfwRule], address: str, port: int) -> UfwRule | None:
    return next((rule for rule in rules if matches(rule, address, port)), None)


def admits(rules: Sequence[UfwRule], address: str, port: int, default_incoming: str = "deny") -> bool:
    """Whether UFW, enabled with ``rules`` and that default policy, lets a new TCP connection from ``address`` to ``port`` in."""
    rule = first_match(rules, address, port)
    if rule is None:
        return default_incoming == "allow"
    return rule.action in ("allow", "limit")

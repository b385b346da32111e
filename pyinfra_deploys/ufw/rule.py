"""
One inbound UFW rule, as the ``ufw.rules`` operation wants it and as the
``UfwState`` fact reads it back from ``/etc/ufw/user.rules`` and ``user6.rules``.

Only the simple shape this project needs is modelled: an inbound rule to any
local address, optionally limited to one destination port and one source
network. Anything else ufw can store (``out``/``in on IFACE``/``route`` rules,
``log``/``log-all``, source ports, port ranges and lists, application profiles,
protocols other than tcp/udp) makes ``UfwRule.parse_tuple`` raise ``ValueError``
so callers can report it instead of silently misreading it.

How ufw 0.36.2 stores such a rule: ``ufw allow proto tcp from 192.168.1.0/24 to
any port 587 comment 'submission'`` writes this line to ``user.rules``::

    ### tuple ### allow tcp 587 0.0.0.0/0 any 192.168.1.0/24 in comment=7375626d697373696f6e

that is ``action proto dport dst sport src direction``, with the comment
hex-encoded (UTF-8) and only present when non-empty. A rule ``from any`` is
written twice, to ``user.rules`` with ``0.0.0.0/0`` and to ``user6.rules`` with
``::/0`` (when ``IPV6=yes``); ``from 0.0.0.0/0`` and ``from ::/0`` write one
family only, exactly like one half of a ``from any`` rule.
"""

from __future__ import annotations

import binascii
import ipaddress
import shlex
import socket
from dataclasses import dataclass, replace
from typing import Literal, cast

Action = Literal["allow", "deny", "reject", "limit"]
Proto = Literal["tcp", "udp", "any"]

ACTIONS: tuple[str, ...] = ("allow", "deny", "reject", "limit")
PROTOS: tuple[str, ...] = ("tcp", "udp", "any")

ANY_V4 = "0.0.0.0/0"
ANY_V6 = "::/0"

TUPLE_PREFIX = "### tuple ###"


def _normalize_from(value: object) -> str:
    """Return ``value`` as ufw writes it: "any", a bare host address, or addr/prefix."""
    if value == "any":
        return "any"
    if not isinstance(value, str):
        raise ValueError(f"from_addr must be 'any' or an IPv4/IPv6 network, got {value!r}")
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as e:
        raise ValueError(
            f"from_addr must be 'any' or an IPv4/IPv6 network, got {value!r} ({e})",
        ) from None
    # ufw normalises with inet_pton/inet_ntop and drops host masks (/32, /128)
    family = socket.AF_INET if network.version == 4 else socket.AF_INET6
    address = socket.inet_ntop(family, network.network_address.packed)
    if network.prefixlen == network.max_prefixlen:
        return address
    return f"{address}/{network.prefixlen}"


def _hex_decode(value: str) -> str:
    """Decode a ufw ``comment=`` value the way ufw's ``util.hex_decode`` does."""
    if len(value) % 2:
        value = value[:-1]
    try:
        raw = binascii.unhexlify(value)
    except binascii.Error:
        raise ValueError(f"comment is not hex-encoded: {value!r}") from None
    return raw.decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class UfwRule:
    """
    One inbound ufw rule ``<action> [proto <proto>] from <from_addr> to any [port <port>]``.

    + action: ``allow``, ``deny``, ``reject`` or ``limit``
    + proto: ``tcp``, ``udp`` or ``any``
    + port: destination port (1-65535), ``None`` for every port
    + from_addr: source, ``any`` or an IPv4/IPv6 network without host bits set;
      stored normalised as ufw writes it (``192.168.1.5/32`` -> ``192.168.1.5``)
    + comment: free text (no ``'``, no control characters); ``""`` means none

    .. code:: python

        UfwRule("allow", "tcp", 587, "192.168.1.0/24", "february: submission")
    """

    action: Action
    proto: Proto
    port: int | None
    from_addr: str = "any"
    comment: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}, got {self.action!r}")
        if self.proto not in PROTOS:
            raise ValueError(f"proto must be one of {', '.join(PROTOS)}, got {self.proto!r}")
        if self.port is not None and (
            not isinstance(self.port, int) or isinstance(self.port, bool) or not 1 <= self.port <= 65535
        ):
            raise ValueError(f"port must be an integer 1-65535 or None, got {self.port!r}")
        object.__setattr__(self, "from_addr", _normalize_from(self.from_addr))
        if self.comment is not None:
            if not isinstance(self.comment, str):
                raise ValueError(f"comment must be a string or None, got {self.comment!r}")
            if "'" in self.comment or any(ord(c) < 32 or ord(c) == 127 for c in self.comment):
                raise ValueError(
                    f"comment must not contain ' or control characters, got {self.comment!r}",
                )
            if self.comment == "":
                object.__setattr__(self, "comment", None)

    # Reading ufw's files
    #

    @classmethod
    def parse_tuple(cls, line: str) -> UfwRule:
        """
        Parse one ``### tuple ### ...`` line of ``user.rules``/``user6.rules``.

        Raises ``ValueError`` (naming the line) for lines this class cannot
        represent, see the module docstring.
        """
        text = line.strip()
        if not text.startswith(TUPLE_PREFIX):
            raise ValueError(f"not a ufw tuple line: {line!r}")
        text = text[len(TUPLE_PREFIX) :]

        comment: str | None = None
        # comment= is always written last (same split as ufw's _read_rules)
        if " comment=" in text:
            text, _, hex_comment = text.partition(" comment=")
            comment = _hex_decode(hex_comment.strip())

        fields = text.split()
        if len(fields) != 7:
            raise ValueError(
                f"unsupported ufw tuple (expected 7 fields, application rules have 9): {line!r}",
            )
        action, proto, dport, dst, sport, src, direction = fields

        if direction != "in":
            raise ValueError(f"unsupported ufw tuple (direction/interface {direction!r}): {line!r}")
        if action not in ACTIONS:
            # also route:allow, allow_log, allow_log-all
            raise ValueError(f"unsupported ufw tuple (action {action!r}): {line!r}")
        if proto not in PROTOS:
            raise ValueError(f"unsupported ufw tuple (proto {proto!r}): {line!r}")
        if sport != "any":
            raise ValueError(f"unsupported ufw tuple (source port {sport!r}): {line!r}")
        if dport == "any":
            port = None
        elif dport.isdigit():
            port = int(dport)
        else:
            raise ValueError(f"unsupported ufw tuple (port {dport!r}): {line!r}")

        try:
            src_version = ipaddress.ip_network(src, strict=False).version
        except ValueError:
            raise ValueError(f"unsupported ufw tuple (source {src!r}): {line!r}") from None
        if dst != (ANY_V4 if src_version == 4 else ANY_V6):
            raise ValueError(f"unsupported ufw tuple (destination {dst!r}): {line!r}")

        try:
            return cls(cast(Action, action), cast(Proto, proto), port, src, comment)
        except ValueError as e:
            raise ValueError(f"unsupported ufw tuple ({e}): {line!r}") from None

    # Writing ufw commands
    #

    def ufw_args(self) -> list[str]:
        """
        Arguments for ``ufw`` that add (or, after ``delete``, remove) this rule, unquoted:
        ``shlex.join(rule.ufw_args())`` gives e.g.
        ``allow proto tcp from 192.168.1.0/24 to any port 587 comment 'february: submission'``.
        """
        args: list[str] = [self.action]
        if self.proto != "any":
            args.extend(("proto", self.proto))
        args.extend(("from", self.from_addr, "to", "any"))
        if self.port is not None:
            args.extend(("port", str(self.port)))
        if self.comment is not None:
            args.extend(("comment", self.comment))
        return args

    def __str__(self) -> str:
        return shlex.join(self.ufw_args())

    # Comparing rules
    #

    def key(self) -> tuple[str, int | None, str]:
        """
        What identifies this rule to ufw: ``(proto, port, from_addr)``.

        ufw matches rules on these (``UFWRule.match``); ``action`` and ``comment``
        are attributes of the matched rule: ``ufw deny ...`` over an existing
        ``allow`` with the same key replaces it in place, and ``ufw delete allow ...``
        without a comment deletes the rule whatever its comment. Full equality
        (``==``) compares all fields.
        """
        return (self.proto, self.port, self.from_addr)

    @property
    def family(self) -> Literal["v4", "v6", "any"]:
        """``v4``/``v6`` for a network source, ``any`` for a rule written to both files."""
        if self.from_addr == "any":
            return "any"
        return "v4" if ipaddress.ip_network(self.from_addr).version == 4 else "v6"

    def split(self, ipv6: bool = True) -> tuple[UfwRule, ...]:
        """
        The per-family rules ufw writes for this rule: a ``from any`` rule becomes
        its ``0.0.0.0/0`` half (and its ``::/0`` half when ``ipv6``), any other
        rule is returned unchanged.
        """
        if self.from_addr != "any":
            return (self,)
        halves = [replace(self, from_addr=ANY_V4)]
        if ipv6:
            halves.append(replace(self, from_addr=ANY_V6))
        return tuple(halves)

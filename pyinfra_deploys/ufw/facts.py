"""
Facts about UFW (uncomplicated firewall), read from its files: no ``ufw status``.

Facts need to be imported before use, eg

.. code:: python

    from pyinfra_deploys.ufw.facts import UfwState
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TypedDict

from pyinfra.api import FactBase
from pyinfra.api.exceptions import FactProcessError
from typing_extensions import override

from pyinfra_deploys.layout import UFW_BINARY, UFW_CONF, UFW_DEFAULTS, UFW_FILES, UFW_USER6_RULES, UFW_USER_RULES
from pyinfra_deploys.ufw.rule import ANY_V4, ANY_V6, UfwRule

MARKER = "@@ufwstate@@"
# The lines of ufw's files that process() reads: KEY=value settings and rule tuples (a tenth of user.rules).
READ_LINES = "grep -E '^([A-Za-z0-9_]+=|### tuple ###)'"

# /etc/default/ufw key -> ufw's direction name, iptables target -> ufw's policy name
POLICY_KEYS = {
    "incoming": "default_input_policy",
    "outgoing": "default_output_policy",
    "routed": "default_forward_policy",
}
POLICY_NAMES = {"accept": "allow", "drop": "deny", "reject": "reject"}

# the line pattern ufw's backend._get_defaults reads settings with
SETTING_RE = re.compile(r'^\w+="?\w+"?')


class UfwStateValue(TypedDict):
    installed: bool
    enabled: bool
    ipv6: bool
    defaults: dict[str, str]
    rules: list[UfwRule]
    unmanaged: list[str]


def _settings(lines: list[str]) -> dict[str, str]:
    """``KEY="value"`` lines as ufw reads them: lower-cased, quotes stripped."""
    settings: dict[str, str] = {}
    for line in lines:
        if SETTING_RE.search(line):
            key, _, value = line.strip().partition("=")
            settings[key.lower()] = value.split("=")[0].lower().strip("\"'")
    return settings


def _merge_families(v4: list[UfwRule], v6: list[UfwRule]) -> list[UfwRule]:
    """
    Merge the two halves of each ``from any`` rule (``0.0.0.0/0`` in user.rules,
    ``::/0`` in user6.rules, same action, proto, port and comment) into one rule
    with ``from_addr="any"``, at the position of its IPv4 half.
    """
    merged: list[UfwRule] = []
    v6_left = list(v6)
    for rule in v4:
        if rule.from_addr == ANY_V4:
            other_half = replace(rule, from_addr=ANY_V6)
            if other_half in v6_left:
                v6_left.remove(other_half)
                rule = replace(rule, from_addr="any")
        merged.append(rule)
    return merged + v6_left


class UfwState(FactBase[UfwStateValue]):
    """
    Returns the state of ufw as its files describe it (cheap: ``grep`` of four
    files, no ``ufw status``). Needs root to read the rules files (``_sudo=True`` when not
    connecting as root): an unreadable file is a fact error, not "no rules".

    .. code:: python

        {
            "installed": True,  # /usr/sbin/ufw exists
            "enabled": True,  # ENABLED=yes in /etc/ufw/ufw.conf
            "ipv6": True,  # IPV6=yes in /etc/default/ufw
            "defaults": {"incoming": "deny", "outgoing": "allow", "routed": "deny"},
            "rules": [
                UfwRule("allow", "tcp", 22, "any", "february: ssh"),
                UfwRule("allow", "tcp", 587, "192.168.1.0/24", "february: submission"),
            ],
            # rules ufw stores that UfwRule cannot represent (out, route, log,
            # interfaces, port ranges, ...), as their "### tuple ###" text
            "unmanaged": ["allow any 53 0.0.0.0/0 any 0.0.0.0/0 out"],
        }

    A ``from any`` rule is stored by ufw once per address family; it is one
    ``UfwRule(from_addr="any")`` here. A half without its other half appears
    as ``from_addr="0.0.0.0/0"`` or ``"::/0"``. ``user6.rules`` is ignored
    unless ``IPV6=yes``, as ufw does, and then every IPv4 ``0.0.0.0/0`` rule is
    reported as ``any``. ``defaults`` only holds the directions that are set:
    it is empty when ufw is not installed.
    """

    @override
    @staticmethod
    def default() -> UfwStateValue:
        return {
            "installed": False,
            "enabled": False,
            "ipv6": True,
            "defaults": {},
            "rules": [],
            "unmanaged": [],
        }

    @override
    def command(self) -> str:
        # A marker line before each file, then only the lines process() reads
        # (KEY=value settings, rule tuples: a tenth of user.rules). Missing files
        # are tolerated (ufw not installed yet), unreadable ones are reported.
        return (
            f"for f in {' '.join(UFW_FILES)}; do "
            f'echo "{MARKER} file $f"; '
            f'if [ -r "$f" ]; then {READ_LINES} "$f"; '
            f'elif [ -e "$f" ]; then echo "{MARKER} unreadable"; '
            f'else echo "{MARKER} missing"; fi; '
            "done; "
            f'if [ -x {UFW_BINARY} ]; then echo "{MARKER} installed"; fi'
        )

    @override
    def process(self, output: list[str]) -> UfwStateValue:
        sections: dict[str, list[str]] = {}
        installed = False
        current: list[str] | None = None
        current_file = ""

        for line in output:
            if line.startswith(MARKER):
                word, _, rest = line[len(MARKER) :].strip().partition(" ")
                if word == "file":
                    current_file = rest.strip()
                    current = sections.setdefault(current_file, [])
                elif word == "missing":
                    sections.pop(current_file, None)
                    current = None
                elif word == "unreadable":
                    raise FactProcessError(
                        f"cannot read {current_file}: reading ufw's files needs root (_sudo=True)",
                    )
                elif word == "installed":
                    installed = True
                    current = None
                continue
            if current is not None:
                current.append(line)

        conf = _settings(sections.get(UFW_CONF, []))
        defaults_file = _settings(sections.get(UFW_DEFAULTS, []))
        ipv6 = defaults_file.get("ipv6", "no" if UFW_DEFAULTS in sections else "yes") == "yes"

        defaults: dict[str, str] = {}
        for direction, key in POLICY_KEYS.items():
            if key in defaults_file:
                # ufw itself reads anything but accept/reject as deny
                defaults[direction] = POLICY_NAMES.get(defaults_file[key], "deny")

        unmanaged: list[str] = []
        by_family: dict[str, list[UfwRule]] = {"v4": [], "v6": []}
        files = {"v4": UFW_USER_RULES, "v6": UFW_USER6_RULES} if ipv6 else {"v4": UFW_USER_RULES}
        for family, filename in files.items():
            for line in sections.get(filename, []):
                if not line.startswith("### tuple ###"):
                    continue
                try:
                    rule = UfwRule.parse_tuple(line)
                except ValueError:
                    unmanaged.append(line.removeprefix("### tuple ###").strip())
                    continue
                if rule.family != family:
                    unmanaged.append(line.removeprefix("### tuple ###").strip())
                    continue
                if not ipv6 and rule.from_addr == ANY_V4:
                    # with IPV6=no, `ufw allow ... from any` writes just this
                    rule = replace(rule, from_addr="any")
                by_family[family].append(rule)

        return {
            "installed": installed,
            "enabled": conf.get("enabled") == "yes",
            "ipv6": ipv6,
            "defaults": defaults,
            "rules": _merge_families(by_family["v4"], by_family["v6"]),
            "unmanaged": unmanaged,
        }

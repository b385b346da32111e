"""
UFW: the UfwRule helper, the UfwState fact and the ufw operations.

Operation cases live in ufw_cases/*.json, one per case, in the spirit of
pyinfra's tests/operations/*/*.json: the operation's generator (``._inner``)
runs against a fake host whose UfwState fact is the case's ``fact`` (merged
over an installed, disabled ufw with its package defaults), with
``pyinfra.context.ctx_host`` pointing at it. Keys of a case:

    operation   default_policy | rules | enabled
    kwargs      keyword arguments; rules are UfwRule fields as objects
    fact        UfwState value (partial), rules as UfwRule fields
    commands    the shell commands expected, in order
    noop        the noop text expected, or null when commands run
    exception   {"name", "message"} instead of commands/noop

Each case is then checked for idempotence the way it matters for ufw: the
commands are applied to a small model of ufw (its file format and rule
matching, as observed on ufw 0.36.2), whose files are read back by the real
fact, and a second run must find nothing to do.

Files in ufw_cases/files were captured on a Debian 12 VM with ufw 0.36.2
(disabled): roundtrip.* from running roundtrip.json's commands, split.* from
the fact's own command, mixed.* from assorted rules UfwRule cannot represent.
"""

from __future__ import annotations

import binascii
import json
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pyinfra.api import StringCommand
from pyinfra.api.exceptions import FactProcessError, OperationError
from pyinfra.context import ctx_host, ctx_state

from pyinfra_deploys.ufw import operations as ufw_operations
from pyinfra_deploys.ufw.facts import UfwState, UfwStateValue
from pyinfra_deploys.ufw.rule import UfwRule
from tests.fakehost import FakeHost

CASES_DIR = Path(__file__).parent / "ufw_cases"
FILES_DIR = CASES_DIR / "files"
CASES = sorted(CASES_DIR.glob("*.json"))

MARKER = "@@ufwstate@@"
UFW_CONF = "/etc/ufw/ufw.conf"
UFW_DEFAULTS = "/etc/default/ufw"
USER_RULES = "/etc/ufw/user.rules"
USER6_RULES = "/etc/ufw/user6.rules"

INSTALLED_DEFAULTS = {"incoming": "deny", "outgoing": "allow", "routed": "deny"}


# Helpers
#


def rule_from_json(value: Any) -> Any:
    """UfwRule fields as a JSON object -> UfwRule; anything else is passed as is."""
    return UfwRule(**value) if isinstance(value, dict) else value


def fact_from_json(data: dict[str, Any]) -> UfwStateValue:
    fact: UfwStateValue = {
        "installed": True,
        "enabled": False,
        "ipv6": True,
        "defaults": dict(INSTALLED_DEFAULTS),
        "rules": [],
        "unmanaged": [],
    }
    fact.update(data)  # type: ignore[typeddict-item]
    fact["rules"] = [rule_from_json(rule) for rule in data.get("rules", [])]
    return fact


def kwargs_from_json(data: dict[str, Any]) -> dict[str, Any]:
    kwargs = dict(data)
    if isinstance(kwargs.get("rules"), list):
        kwargs["rules"] = [rule_from_json(rule) for rule in kwargs["rules"]]
    return kwargs


def fact_output(files: dict[str, str | None], installed: bool = True) -> list[str]:
    """What UfwState's command prints for these file contents (None: missing file)."""
    lines: list[str] = []
    for path in (UFW_CONF, UFW_DEFAULTS, USER_RULES, USER6_RULES):
        lines.append(f"{MARKER} file {path}")
        content = files.get(path)
        if content is None:
            lines.append(f"{MARKER} missing")
        else:
            lines.extend(content.splitlines())
    if installed:
        lines.append(f"{MARKER} installed")
    return lines


def read_fixture(name: str) -> str:
    return (FILES_DIR / name).read_text(encoding="utf-8")


DEBIAN_CONF = "ENABLED=no\nLOGLEVEL=low\n"
DEBIAN_DEFAULTS = (
    'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n'
    'DEFAULT_FORWARD_POLICY="DROP"\nDEFAULT_APPLICATION_POLICY="SKIP"\nMANAGE_BUILTINS=no\n'
    'IPT_SYSCTL=/etc/ufw/sysctl.conf\nIPT_MODULES=""\n'
)


def run_operation(
    name: str,
    kwargs: dict[str, Any],
    fact: UfwStateValue,
) -> tuple[list[str], str | None]:
    commands, fake_host = run_on_fake_host(name, kwargs, fact)
    return [line for command in commands for line in as_ufw_commands(command)], fake_host.noop_description


def as_ufw_commands(command: StringCommand) -> list[str]:
    """The ``ufw`` commands a yielded command runs: itself, or each of a batch's (ufw_operations.BATCH)."""
    raw = command.get_raw_value()
    if not raw.startswith("python3 -c "):
        return [raw]
    argv = shlex.split(raw)
    assert argv[:3] == ["python3", "-c", ufw_operations.BATCH] and len(argv) > 4, "a batch runs two commands or more"
    return [f"ufw {line}" for line in argv[3:]]


def run_on_fake_host(
    name: str, kwargs: dict[str, Any], fact: UfwStateValue, diff: bool = False
) -> tuple[list[StringCommand], FakeHost]:
    """The operation's commands on a fake host; ``diff`` as `pyinfra --diff` (`february diff`) sets it."""
    operation = getattr(ufw_operations, name)
    fake_host = FakeHost({UfwState: fact})
    with ctx_host.use(fake_host), ctx_state.use(SimpleNamespace(config=SimpleNamespace(DIFF=diff))):
        commands = list(operation._inner(**kwargs))
    for command in commands:
        assert isinstance(command, StringCommand)
    assert all(arguments == {} for arguments in fake_host.asked_for(UfwState))
    return commands, fake_host


# A model of ufw 0.36.2, for the second run of each case
#


@dataclass
class UfwModel:
    """
    ufw's files as its CLI changes them, for the rules in UfwRule's scope: a
    rule is stored once per family (from any -> 0.0.0.0/0 and ::/0 halves), an
    add replaces the rule with the same proto/port/source in place (so action
    and comment change) or appends, a delete must match the action too and
    ignores the rule's comment when given none.
    """

    installed: bool
    enabled: bool
    ipv6: bool
    defaults: dict[str, str]
    families: dict[str, list[UfwRule]]
    unmanaged: list[str]
    failed_deletes: list[str] = field(default_factory=list)

    @classmethod
    def from_fact(cls, fact: UfwStateValue) -> UfwModel:
        families: dict[str, list[UfwRule]] = {"v4": [], "v6": []}
        for rule in fact["rules"]:
            for half in rule.split(fact["ipv6"]):
                families[half.family].append(half)
        return cls(
            fact["installed"],
            fact["enabled"],
            fact["ipv6"],
            dict(fact["defaults"]),
            families,
            list(fact["unmanaged"]),
        )

    @staticmethod
    def parse_rule(args: list[str]) -> UfwRule:
        """``<action> [proto P] from F to any [port N] [comment C]`` (our rendering)."""
        action, rest = args[0], args[1:]
        options: dict[str, str] = {}
        while rest:
            keyword, value, rest = rest[0], rest[1], rest[2:]
            options[keyword] = value
        assert options.pop("to") == "any"
        return UfwRule(
            action,  # type: ignore[arg-type]
            options.pop("proto", "any"),  # type: ignore[arg-type]
            int(options.pop("port")) if "port" in options else None,
            options.pop("from"),
            options.pop("comment", None),
        )

    def apply(self, command: str) -> None:
        args = shlex.split(command)
        assert args[0] == "ufw"
        args = args[1:]
        if args == ["--force", "enable"]:
            self.enabled = True
        elif args == ["disable"]:
            self.enabled = False
        elif args[0] == "default":
            self.defaults[args[2]] = args[1]
        elif args[0] == "delete":
            rule = self.parse_rule(args[1:])
            assert rule.comment is None, "deletes are written without comment"
            for half in rule.split(self.ipv6):
                rules = self.families[half.family]
                found = [r for r in rules if r.key() == half.key() and r.action == half.action]
                if found:
                    rules.remove(found[0])
                else:
                    self.failed_deletes.append(str(half))
        else:
            rule = self.parse_rule(args)
            for half in rule.split(self.ipv6):
                rules = self.families[half.family]
                keys = [r.key() for r in rules]
                if half.key() in keys:
                    rules[keys.index(half.key())] = half
                else:
                    rules.append(half)

    @staticmethod
    def tuple_line(rule: UfwRule) -> str:
        dst = "0.0.0.0/0" if rule.family == "v4" else "::/0"
        port = "any" if rule.port is None else str(rule.port)
        line = f"### tuple ### {rule.action} {rule.proto} {port} {dst} any {rule.from_addr} in"
        if rule.comment:
            line += " comment=" + binascii.hexlify(rule.comment.encode()).decode()
        return line

    def files(self) -> dict[str, str | None]:
        policies = {"allow": "ACCEPT", "deny": "DROP", "reject": "REJECT"}
        names = {"incoming": "INPUT", "outgoing": "OUTPUT", "routed": "FORWARD"}
        defaults = [f"IPV6={'yes' if self.ipv6 else 'no'}"] + [
            f'DEFAULT_{names[direction]}_POLICY="{policies[policy]}"' for direction, policy in self.defaults.items()
        ]
        unmanaged = [f"### tuple ### {line}" for line in self.unmanaged]
        return {
            UFW_CONF: f"ENABLED={'yes' if self.enabled else 'no'}\n",
            UFW_DEFAULTS: "\n".join(defaults) + "\n",
            USER_RULES: "\n".join([*map(self.tuple_line, self.families["v4"]), *unmanaged]),
            USER6_RULES: "\n".join(map(self.tuple_line, self.families["v6"])),
        }

    def fact(self) -> UfwStateValue:
        return UfwState().process(fact_output(self.files(), installed=self.installed))


# Operation cases
#


def load_case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def test_with_diff_each_rule_added_and_deleted_is_logged_as_it_is_yielded() -> None:
    case = load_case(CASES_DIR / "rules_exclusive_deletes_others_without_comment.json")
    kwargs, fact = kwargs_from_json(case["kwargs"]), fact_from_json(case["fact"])
    commands, fake_host = run_on_fake_host("rules", kwargs, fact, diff=True)
    logged = [
        line.replace("Will add ufw rule: ", "ufw ").replace("Will delete ufw rule: ", "ufw delete ") for line in fake_host.logged
    ]
    assert logged == [line for c in commands for line in as_ufw_commands(c)] and any(
        line.startswith("ufw delete") for line in logged
    )
    assert run_on_fake_host("rules", kwargs, fact)[1].logged == []  # without --diff, nothing


@pytest.mark.parametrize("case_path", CASES, ids=[path.stem for path in CASES])
def test_operation_case(case_path: Path) -> None:
    case = load_case(case_path)
    kwargs = kwargs_from_json(case.get("kwargs", {}))
    fact = fact_from_json(case.get("fact", {}))

    if "exception" in case:
        assert case["exception"]["name"] == "OperationError"
        with pytest.raises(OperationError) as raised:
            run_operation(case["operation"], kwargs, fact)
        assert raised.value.args[0] == case["exception"]["message"]
        return

    commands, noop = run_operation(case["operation"], kwargs, fact)
    assert commands == case["commands"]
    assert noop == case["noop"]

    # Second run, against what ufw makes of these commands: nothing left to do
    model = UfwModel.from_fact(fact)
    for command in commands:
        model.apply(command)
    assert model.failed_deletes == []
    second_commands, second_noop = run_operation(case["operation"], kwargs, model.fact())
    assert second_commands == []
    assert second_noop is not None


def test_cases_are_found() -> None:
    assert len(CASES) >= 20
    operations = {load_case(path)["operation"] for path in CASES}
    assert operations == {"default_policy", "rules", "enabled"}


def test_rules_deletes_never_remove_wanted_rules() -> None:
    """Every present/wanted combination of one port: after the commands, exactly the wanted rules."""
    variants = [
        UfwRule(action, "tcp", 22, source, comment)
        for action in ("allow", "limit")
        for source in ("any", "0.0.0.0/0", "::/0")
        for comment in (None, "ssh")
    ]
    for present in variants:
        for wanted in variants:
            fact = fact_from_json({})
            fact["rules"] = [present]
            commands, _ = run_operation("rules", {"rules": [wanted]}, fact)
            model = UfwModel.from_fact(fact)
            for command in commands:
                model.apply(command)
            assert model.failed_deletes == []
            assert model.fact()["rules"] == [wanted], (present, wanted, commands)


# UfwRule
#


def test_rule_ufw_args() -> None:
    rule = UfwRule("allow", "tcp", 587, "192.168.1.0/24", "february: submission")
    assert rule.ufw_args() == [
        "allow", "proto", "tcp", "from", "192.168.1.0/24", "to", "any",
        "port", "587", "comment", "february: submission",
    ]  # fmt: skip
    assert str(rule) == ("allow proto tcp from 192.168.1.0/24 to any port 587 comment 'february: submission'")
    assert str(UfwRule("deny", "any", None)) == "deny from any to any"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "alow"}, "action must be one of allow, deny, reject, limit, got 'alow'"),
        ({"proto": "icmp"}, "proto must be one of tcp, udp, any, got 'icmp'"),
        ({"port": 0}, "port must be an integer 1-65535 or None, got 0"),
        ({"port": 65536}, "port must be an integer 1-65535 or None, got 65536"),
        ({"port": "22"}, "port must be an integer 1-65535 or None, got '22'"),
        ({"port": True}, "port must be an integer 1-65535 or None, got True"),
        (
            {"from_addr": "192.168.1.5/24"},
            "got '192.168.1.5/24' (192.168.1.5/24 has host bits set)",
        ),
        ({"from_addr": "lan"}, "from_addr must be 'any' or an IPv4/IPv6 network, got 'lan'"),
        ({"from_addr": "ANY"}, "from_addr must be 'any' or an IPv4/IPv6 network, got 'ANY'"),
        ({"comment": "it's"}, "comment must not contain ' or control characters, got \"it's\""),
        ({"comment": "a\nb"}, "comment must not contain ' or control characters, got 'a\\nb'"),
    ],
)
def test_rule_validation(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"action": "allow", "proto": "tcp", "port": 22, **kwargs}
    with pytest.raises(ValueError) as raised:
        UfwRule(**fields)
    assert message in str(raised.value)


def test_rule_normalises_like_ufw() -> None:
    assert UfwRule("allow", "any", 1, "192.168.1.5/32").from_addr == "192.168.1.5"
    assert UfwRule("allow", "any", 1, "2001:DB8::1/128").from_addr == "2001:db8::1"
    assert UfwRule("allow", "any", 1, "2001:DB8:0:0::/64").from_addr == "2001:db8::/64"
    assert UfwRule("allow", "any", 1, comment="").comment is None
    assert UfwRule("allow", "any", 1, "10.0.0.0/8") == UfwRule("allow", "any", 1, "10.0.0.0/8")


def test_rule_key_is_what_ufw_matches_on() -> None:
    rule = UfwRule("allow", "tcp", 22, "any", "ssh")
    assert rule.key() == ("tcp", 22, "any")
    assert UfwRule("limit", "tcp", 22).key() == rule.key()
    assert UfwRule("allow", "any", 22).key() != rule.key()
    assert UfwRule("allow", "tcp", 22, "0.0.0.0/0").key() != rule.key()


def test_rule_split_by_family() -> None:
    rule = UfwRule("allow", "tcp", 22, comment="ssh")
    assert rule.family == "any"
    assert rule.split() == (
        UfwRule("allow", "tcp", 22, "0.0.0.0/0", "ssh"),
        UfwRule("allow", "tcp", 22, "::/0", "ssh"),
    )
    assert rule.split(ipv6=False) == (UfwRule("allow", "tcp", 22, "0.0.0.0/0", "ssh"),)
    lan = UfwRule("allow", "tcp", 22, "fe80::/10")
    assert lan.family == "v6"
    assert lan.split() == (lan,)


def test_parse_tuple() -> None:
    line = "### tuple ### allow tcp 587 0.0.0.0/0 any 192.168.1.0/24 in comment=66656272756172793a207375626d697373696f6e"
    assert UfwRule.parse_tuple(line) == UfwRule("allow", "tcp", 587, "192.168.1.0/24", "february: submission")
    assert UfwRule.parse_tuple("### tuple ### limit any any ::/0 any ::/0 in\n") == UfwRule("limit", "any", None, "::/0")


def test_parse_tuple_hex_comment() -> None:
    # UTF-8, as ufw's hex_encode writes it
    assert (
        UfwRule.parse_tuple(
            "### tuple ### allow any 13 0.0.0.0/0 any 0.0.0.0/0 in comment=c3bc6ec3af20f09f928c2078",
        ).comment
        == "ünï 💌 x"
    )
    # odd length: ufw's hex_decode drops the last digit
    assert (
        UfwRule.parse_tuple(
            "### tuple ### allow any 13 0.0.0.0/0 any 0.0.0.0/0 in comment=6162a",
        ).comment
        == "ab"
    )
    with pytest.raises(ValueError, match="not hex-encoded"):
        UfwRule.parse_tuple("### tuple ### allow any 13 0.0.0.0/0 any 0.0.0.0/0 in comment=zz")


@pytest.mark.parametrize(
    ("tupl", "reason"),
    [
        ("allow any 53 0.0.0.0/0 any 0.0.0.0/0 out", "direction/interface 'out'"),
        ("allow any 6 0.0.0.0/0 any 0.0.0.0/0 in_eth0", "direction/interface 'in_eth0'"),
        ("allow_log any 8 0.0.0.0/0 any 0.0.0.0/0 in", "action 'allow_log'"),
        ("route:allow any 9 0.0.0.0/0 any 0.0.0.0/0 in", "action 'route:allow'"),
        ("allow tcp 7000:7010 0.0.0.0/0 any 0.0.0.0/0 in", "port '7000:7010'"),
        ("allow tcp 80,443 ::/0 any ::/0 in", "port '80,443'"),
        ("allow esp any 0.0.0.0/0 any 0.0.0.0/0 in", "proto 'esp'"),
        ("allow tcp 14 0.0.0.0/0 99 1.2.3.4 in", "source port '99'"),
        ("allow tcp 10 10.1.2.3 any 0.0.0.0/0 in", "destination '10.1.2.3'"),
        ("allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 OpenSSH - in", "application rules"),
        ("allow tcp 0 0.0.0.0/0 any 0.0.0.0/0 in", "port must be an integer"),
    ],
)
def test_parse_tuple_unsupported(tupl: str, reason: str) -> None:
    with pytest.raises(ValueError) as raised:
        UfwRule.parse_tuple(f"### tuple ### {tupl}")
    assert reason in str(raised.value)
    assert tupl in str(raised.value)


def test_parse_tuple_not_a_tuple() -> None:
    with pytest.raises(ValueError, match="not a ufw tuple line"):
        UfwRule.parse_tuple("-A ufw-user-input -p tcp --dport 22 -j ACCEPT")


# Round trip through the real ufw
#


def test_round_trip_through_real_ufw() -> None:
    """parse(ufw's files after `ufw <rule.ufw_args()>`) == rule, for roundtrip.json's rules."""
    data = json.loads(read_fixture("roundtrip.json"))
    rules = [UfwRule(**rule) for rule in data["rules"]]
    # the fixtures were made by running exactly these commands (through a shell)
    assert data["commands"] == [shlex.join(["ufw", *rule.ufw_args()]) for rule in rules]

    fact = UfwState().process(
        fact_output(
            {
                UFW_CONF: DEBIAN_CONF,
                UFW_DEFAULTS: DEBIAN_DEFAULTS,
                USER_RULES: read_fixture("roundtrip.user.rules"),
                USER6_RULES: read_fixture("roundtrip.user6.rules"),
            },
        ),
    )
    assert fact["unmanaged"] == []
    assert sorted(fact["rules"], key=repr) == sorted(rules, key=repr)

    # and each tuple line alone parses to its family's half of one of the rules
    halves = {half for rule in rules for half in rule.split()}
    for name in ("roundtrip.user.rules", "roundtrip.user6.rules"):
        for line in read_fixture(name).splitlines():
            if line.startswith("### tuple ###"):
                assert UfwRule.parse_tuple(line) in halves


def test_round_trip_through_model() -> None:
    """The test's ufw model writes what real ufw wrote for the same commands."""
    data = json.loads(read_fixture("roundtrip.json"))
    model = UfwModel.from_fact(fact_from_json({}))
    for command in data["commands"]:
        model.apply(command)
    files = model.files()
    for path, fixture in (
        (USER_RULES, "roundtrip.user.rules"),
        (USER6_RULES, "roundtrip.user6.rules"),
    ):
        real = [line for line in read_fixture(fixture).splitlines() if line.startswith("### tuple")]
        assert (files[path] or "").splitlines() == real


# UfwState
#


def test_fact_command_is_cheap() -> None:
    command = UfwState().command()
    # reads files, never runs the ufw program (a Python start-up per call)
    assert re.search(r"(?<![\w/.-])ufw\b(?![/.])", command) is None
    for path in (UFW_CONF, UFW_DEFAULTS, USER_RULES, USER6_RULES, "/usr/sbin/ufw"):
        assert path in command


def test_fact_command_runs(tmp_path: Path) -> None:
    """The real command, pointed at local copies, under sh: missing files, whole files."""
    paths = {
        UFW_CONF: tmp_path / "ufw.conf",
        UFW_DEFAULTS: tmp_path / "default-ufw",
        USER_RULES: tmp_path / "user.rules",
        USER6_RULES: tmp_path / "user6.rules",
        "/usr/sbin/ufw": tmp_path / "ufw",
    }
    command = UfwState().command()
    for path, local in paths.items():
        command = command.replace(path, str(local))

    def run() -> UfwStateValue:
        result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
        assert result.stderr == ""
        stdout = result.stdout
        for path, local in paths.items():
            stdout = stdout.replace(str(local), path)
        return UfwState().process(stdout.splitlines())

    assert run() == UfwState.default()

    paths[UFW_CONF].write_text("# comment\nENABLED=yes\n")
    paths[UFW_DEFAULTS].write_text(DEBIAN_DEFAULTS.replace("IPV6=yes", "IPV6=no"))
    paths[USER_RULES].write_text(read_fixture("mixed.user.rules").rstrip("\n"))  # no final newline
    paths["/usr/sbin/ufw"].write_text("#!/bin/sh\n")
    paths["/usr/sbin/ufw"].chmod(0o755)
    fact = run()
    assert fact["installed"] is True
    assert fact["enabled"] is True
    assert fact["ipv6"] is False
    assert fact["rules"][1] == UfwRule("allow", "tcp", 22, "any", "february: ssh")
    assert len(fact["rules"]) == 13


def test_fact_real_output_with_split_halves() -> None:
    """Real output of the fact's command; any-rule halves only merge when identical."""
    fact = UfwState().process(read_fixture("split.fact-output").splitlines())
    assert fact == {
        "installed": True,
        "enabled": False,
        "ipv6": True,
        "defaults": {"incoming": "deny", "outgoing": "allow", "routed": "deny"},
        "rules": [
            UfwRule("allow", "tcp", 8080, "0.0.0.0/0", "web"),
            UfwRule("allow", "tcp", 8443, "0.0.0.0/0", "a"),
            UfwRule("allow", "udp", 51820, "any", "wireguard"),
            UfwRule("deny", "tcp", 8080, "::/0", "web"),
            UfwRule("allow", "tcp", 8443, "::/0", "b"),
            UfwRule("allow", "tcp", 9000, "::/0"),
        ],
        "unmanaged": [
            "allow any 53 0.0.0.0/0 any 0.0.0.0/0 out",
            "route:allow any 9 0.0.0.0/0 any 0.0.0.0/0 in",
            "allow any 53 ::/0 any ::/0 out",
            "route:allow any 9 ::/0 any ::/0 in",
        ],
    }


def test_fact_whole_files() -> None:
    """Whole user.rules files (iptables lines too) with rules of every kind."""
    fact = UfwState().process(
        fact_output(
            {
                UFW_CONF: "ENABLED=yes\n",
                UFW_DEFAULTS: DEBIAN_DEFAULTS.replace('"DROP"', "REJECT", 1),
                USER_RULES: read_fixture("mixed.user.rules"),
                USER6_RULES: read_fixture("mixed.user6.rules"),
            },
        ),
    )
    assert fact["enabled"] is True
    assert fact["defaults"] == {"incoming": "reject", "outgoing": "allow", "routed": "deny"}
    assert fact["rules"][:3] == [
        UfwRule("allow", "tcp", 587, "192.168.1.0/24", "february: submission"),
        UfwRule("allow", "tcp", 22, "any", "february: ssh"),
        UfwRule("limit", "tcp", 2222, "any"),
    ]
    assert UfwRule("allow", "any", 13, "any", "ünï 💌 x") in fact["rules"]
    assert UfwRule("allow", "tcp", 443, "0.0.0.0/0") in fact["rules"]
    assert fact["rules"][-3:] == [
        UfwRule("reject", "any", 25, "2001:db8::/32"),
        UfwRule("allow", "any", 2, "2001:db8::1"),
        UfwRule("allow", "any", 3, "::/0"),
    ]
    assert len(fact["rules"]) == 16
    assert len(fact["unmanaged"]) == 16
    assert "allow tcp 7000:7010 0.0.0.0/0 any 0.0.0.0/0 in" in fact["unmanaged"]


def test_fact_ipv6_disabled() -> None:
    """IPV6=no: user6.rules is ignored (as ufw does) and 0.0.0.0/0 rules are `any` rules."""
    fact = UfwState().process(
        fact_output(
            {
                UFW_CONF: DEBIAN_CONF,
                UFW_DEFAULTS: DEBIAN_DEFAULTS.replace("IPV6=yes", "IPV6=no"),
                USER_RULES: "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n"
                "### tuple ### allow tcp 25 0.0.0.0/0 any 10.0.0.0/8 in\n"
                "### tuple ### allow tcp 80 0.0.0.0/0 any 2001:db8::1 in\n",
                USER6_RULES: "### tuple ### allow tcp 22 ::/0 any ::/0 in\n",
            },
        ),
    )
    assert fact["ipv6"] is False
    assert fact["rules"] == [UfwRule("allow", "tcp", 22), UfwRule("allow", "tcp", 25, "10.0.0.0/8")]
    assert fact["unmanaged"] == ["allow tcp 80 0.0.0.0/0 any 2001:db8::1 in"]


def test_fact_not_installed() -> None:
    output = fact_output(dict.fromkeys((UFW_CONF, UFW_DEFAULTS, USER_RULES, USER6_RULES)), False)
    assert output[:2] == [f"{MARKER} file {UFW_CONF}", f"{MARKER} missing"]
    assert UfwState().process(output) == UfwState.default()
    assert UfwState.default() == {
        "installed": False,
        "enabled": False,
        "ipv6": True,
        "defaults": {},
        "rules": [],
        "unmanaged": [],
    }


def test_fact_unreadable_rules_is_an_error() -> None:
    output = [
        f"{MARKER} file {UFW_CONF}", "ENABLED=yes",
        f"{MARKER} file {UFW_DEFAULTS}", "IPV6=yes",
        f"{MARKER} file {USER_RULES}", f"{MARKER} unreadable",
    ]  # fmt: skip
    with pytest.raises(FactProcessError, match=re.escape("cannot read /etc/ufw/user.rules")):
        UfwState().process(output)


def test_fact_value_is_typed() -> None:
    fact = UfwState().process(read_fixture("split.fact-output").splitlines())
    assert all(isinstance(rule, UfwRule) for rule in fact["rules"])
    assert set(fact) == set(UfwStateValue.__annotations__)

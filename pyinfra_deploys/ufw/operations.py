"""
Manage UFW (uncomplicated firewall): default policies, inbound rules, on/off.

The operations read the cheap ``UfwState`` fact (ufw's files, not ``ufw
status``) and only run the ``ufw`` commands that change something. Call them
in this order: ``default_policy``, ``rules``, then ``enabled``, and pass the
same rule list to ``rules`` and ``enabled`` (see ``enabled``).
"""

from __future__ import annotations

import shlex
from collections.abc import Generator, Iterable
from dataclasses import replace

from pyinfra import host, logger
from pyinfra import state as pyinfra_state
from pyinfra.api import OperationError, QuoteString, StringCommand, operation

from pyinfra_deploys.facts.once import read_once
from pyinfra_deploys.layout import UFW_BINARY, UFW_DEFAULTS, UFW_LOCK
from pyinfra_deploys.ufw.facts import UfwState
from pyinfra_deploys.ufw.rule import UfwRule

POLICIES = ("allow", "deny", "reject")

RuleKey = tuple[str, int | None, str]


def _ufw(*args: str) -> StringCommand:
    return StringCommand("ufw", *(QuoteString(arg) for arg in args))


# Several ufw commands in one process: /usr/sbin/ufw's own steps (its parser, then
# UFWFrontend.do_action under its lock) once per command. Each `ufw` process
# spends about 1.6 s under emulation before it changes anything; a new host's
# mail rules were 7 of them. An argument is one command's arguments, shell-quoted.
BATCH = f"""\
import gettext, shlex, sys
import ufw.common, ufw.frontend, ufw.util
sys.argv[0] = "{UFW_BINARY}"  # ufw checks its own program file's owner and mode, as when run as ufw
gettext.install(ufw.common.programName)
ui = ufw.frontend.UFWFrontend(False)
lock = ufw.util.create_lock(lockfile="{UFW_LOCK}", dryrun=False)
try:
    for line in sys.argv[1:]:
        try:
            parsed = ufw.frontend.parse_command(["ufw", *shlex.split(line)])
            print(ui.do_action(parsed.action, parsed.data["rule"], parsed.data["iptype"], True))
        except ufw.common.UFWError as error:
            sys.exit(f"ufw {{line}}: {{error.value}}")
finally:
    ufw.util.release_lock(lock)
"""


# UFW's own reload of its user rules alone, what `ufw allow` runs after it rewrote user.rules
# (the backend's _reload_user_rules: flush the user chains, iptables-restore -n the rules
# files, IPv6 too when enabled; nothing while UFW is off), under UFW's lock. `ufw reload`
# rebuilds every chain: about 40 s under emulation against 2 s.
RELOAD_USER_RULES = f"""\
# ufw: reload the user rules
import gettext, sys
import ufw.common, ufw.frontend, ufw.util
sys.argv[0] = "{UFW_BINARY}"
gettext.install(ufw.common.programName)
ui = ufw.frontend.UFWFrontend(False)
lock = ufw.util.create_lock(lockfile="{UFW_LOCK}", dryrun=False)
try:
    ui.backend._reload_user_rules()
finally:
    ufw.util.release_lock(lock)
"""


def reload_user_rules_command() -> str:
    """A shell command that makes the running firewall follow user.rules and user6.rules as they are now."""
    return shlex.join(["python3", "-c", RELOAD_USER_RULES])


def _ufw_all(commands: list[tuple[str, ...]]) -> StringCommand:
    """``ufw`` with each of ``commands``' arguments, in order: one plain ``ufw`` command, or all in one process."""
    if len(commands) == 1:
        return _ufw(*commands[0])
    return StringCommand("python3", "-c", QuoteString(BATCH), *(QuoteString(shlex.join(args)) for args in commands))


def _check_rules(rules: object, argument: str = "rules") -> list[UfwRule]:
    if not isinstance(rules, (list, tuple)):
        raise OperationError(f"{argument} must be a list of UfwRule, got {rules!r}")
    for rule in rules:
        if not isinstance(rule, UfwRule):
            raise OperationError(f"{argument} must only contain UfwRule, got {rule!r}")
    return list(rules)


def _halves(rules: Iterable[UfwRule], ipv6: bool) -> dict[RuleKey, UfwRule]:
    """The per-family rules ufw stores for ``rules``, by the key ufw matches them on."""
    halves: dict[RuleKey, UfwRule] = {}
    for rule in rules:
        for half in rule.split(ipv6):
            halves.setdefault(half.key(), half)
    return halves


@operation()
def default_policy(
    incoming: str = "deny",
    outgoing: str = "allow",
    routed: str = "deny",
) -> Generator[StringCommand, None, None]:
    """
    Set ufw's default policies (``ufw default <policy> <direction>``).

    + incoming: policy for incoming traffic: ``allow``, ``deny`` or ``reject``
    + outgoing: policy for outgoing traffic: ``allow``, ``deny`` or ``reject``
    + routed: policy for routed (forwarded) traffic: ``allow``, ``deny`` or ``reject``

    Only the directions whose policy differs are changed.

    **Example:**

    .. code:: python

        ufw.default_policy(
            name="Deny incoming and routed traffic, allow outgoing",
            incoming="deny",
            outgoing="allow",
            routed="deny",
        )
    """

    wanted = {"incoming": incoming, "outgoing": outgoing, "routed": routed}
    for direction, policy in wanted.items():
        if policy not in POLICIES:
            raise OperationError(
                f"{direction} must be one of {', '.join(POLICIES)}, got {policy!r}",
            )

    current = read_once(UfwState)["defaults"]

    changed = False
    for direction, policy in wanted.items():
        if current.get(direction) != policy:
            changed = True
            yield _ufw("default", policy, direction)

    if not changed:
        host.noop(
            "ufw default policies are already " + ", ".join(f"{direction}={policy}" for direction, policy in wanted.items()),
        )


@operation()
def rules(rules: list[UfwRule], exclusive: bool = True) -> Generator[StringCommand, None, None]:
    """
    Add the missing ufw rules and, when exclusive, delete the others.

    + rules: the wanted inbound rules, a list of ``pyinfra_deploys.ufw.rule.UfwRule``
    + exclusive: also ``ufw delete`` every present rule that is not wanted

    Rules are compared the way ufw matches them: on proto, port and source,
    separately for IPv4 and IPv6 (a ``from any`` rule is one rule in each
    family). A wanted rule present with another action or comment is re-added,
    which makes ufw update it in place. A delete only ever targets a family
    whose (proto, port, source) no wanted rule has, so it cannot remove a
    wanted rule; it is written without the comment so that it matches
    whatever comment the rule has. New rules are appended: the order of the
    rules (first match wins) is not managed. Several changes run as one
    process (``BATCH``), in the order a ``ufw`` command each would have.

    With ``exclusive``, rules this module cannot represent (``out``, ``route``,
    ``log``, interface, port range rules...; the fact's ``unmanaged``) are an
    error: delete them by hand (``ufw status numbered``, ``ufw delete N``) or
    pass ``exclusive=False``.

    **Example:**

    .. code:: python

        ufw.rules(
            name="Open SSH and submission to the LAN",
            rules=[
                UfwRule("limit", "tcp", 22, comment="february: ssh"),
                UfwRule("allow", "tcp", 587, "192.168.1.0/24", "february: submission"),
            ],
        )
    """

    wanted_rules = _check_rules(rules)
    if not isinstance(exclusive, bool):
        raise OperationError(f"exclusive must be True or False, got {exclusive!r}")

    state = read_once(UfwState)
    ipv6 = state["ipv6"]

    wanted: dict[RuleKey, UfwRule] = {}
    for rule in wanted_rules:
        if not ipv6 and rule.family == "v6":
            raise OperationError(f"IPV6 is not enabled in {UFW_DEFAULTS}, cannot add: {rule}")
        for half in rule.split(ipv6):
            other = wanted.setdefault(half.key(), half)
            if other != half:
                raise OperationError(f"conflicting ufw rules: {other} and {half}")

    if exclusive and state["unmanaged"]:
        raise OperationError(
            "ufw has rules this operation cannot manage, delete them by hand or pass "
            "exclusive=False: " + "; ".join(state["unmanaged"]),
        )

    # What ufw will hold, updated as commands are added; the commands, run at the end in one process
    present = _halves(state["rules"], ipv6)
    commands: list[tuple[str, ...]] = []

    for rule in wanted_rules:
        halves = rule.split(ipv6)
        if all(present.get(half.key()) == half for half in halves):
            continue
        if pyinfra_state.config.DIFF:  # `pyinfra --diff` (`february diff`): the rule, never a secret
            host.log(f"Will add ufw rule: {' '.join(rule.ufw_args())}", logger.info)
        commands.append(tuple(rule.ufw_args()))
        present.update((half.key(), half) for half in halves)

    if exclusive:
        for rule in state["rules"]:
            halves = rule.split(ipv6)
            unwanted = [half for half in halves if half.key() not in wanted]
            if not unwanted:
                continue
            # all halves unwanted: one delete of the rule as written, else per family
            for target in [rule] if len(unwanted) == len(halves) else unwanted:
                if pyinfra_state.config.DIFF:
                    host.log(f"Will delete ufw rule: {' '.join(replace(target, comment=None).ufw_args())}", logger.info)
                commands.append(("delete", *replace(target, comment=None).ufw_args()))

    if commands:
        yield _ufw_all(commands)
    else:
        host.noop(
            f"ufw rules are already present ({len(wanted_rules)} wanted" + (", no others)" if exclusive else ")"),
        )


def _allows_port(rule: UfwRule, port: int) -> bool:
    return rule.action in ("allow", "limit") and rule.proto in ("tcp", "any") and rule.port in (port, None)


@operation()
def enabled(
    enabled: bool = True,
    require_port: int | None = 22,
    rules: list[UfwRule] | None = None,
) -> Generator[StringCommand, None, None]:
    """
    Enable (``ufw --force enable``) or disable (``ufw disable``) the firewall.

    + enabled: whether ufw should be enabled
    + require_port: lock-out guard: refuse to enable unless an ``allow`` or
      ``limit`` rule lets TCP reach this port (any source); ``None`` disables the guard
    + rules: the rules the same deploy adds before this operation (pass the list
      given to ``ufw.rules``); they count for the guard along with the rules ufw
      already has

    The guard is needed at prepare time, when the host's rules do not yet
    contain what an earlier ``ufw.rules`` operation will add: that is why the
    same rule list is passed here. Only the port is checked, not whether the
    source network includes the address pyinfra connects from, nor whether an
    earlier ``deny`` rule shadows the allowing one.

    **Example:**

    .. code:: python

        ufw.enabled(
            name="Enable the firewall",
            enabled=True,
            require_port=22,
            rules=FIREWALL_RULES,
        )
    """

    if not isinstance(enabled, bool):
        raise OperationError(f"enabled must be True or False, got {enabled!r}")
    if require_port is not None and (
        not isinstance(require_port, int) or isinstance(require_port, bool) or not 1 <= require_port <= 65535
    ):
        raise OperationError(
            f"require_port must be an integer 1-65535 or None, got {require_port!r}",
        )
    added_rules = _check_rules(rules if rules is not None else [])

    state = read_once(UfwState)

    if not enabled:
        if state["enabled"]:
            yield _ufw("disable")
        else:
            host.noop("ufw is already disabled")
        return

    if state["enabled"]:
        host.noop("ufw is already enabled")
        return

    if require_port is not None and not any(_allows_port(rule, require_port) for rule in [*state["rules"], *added_rules]):
        raise OperationError(
            f"refusing to enable ufw: no allow/limit rule for port {require_port}/tcp in ufw's "
            "rules or in rules= (add one with ufw.rules first and pass the same list as rules=, "
            "or set require_port=None)",
        )

    yield _ufw("--force", "enable")

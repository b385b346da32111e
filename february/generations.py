"""The host's generations from here: list them, switch to one, verify a switch (``pyinfra_deploys/host/february_generation.py`` runs there)."""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass
from typing import Any

from february.remote import RemoteError, connection, run
from pyinfra_deploys import layout
from pyinfra_deploys.settings.inventory import InventoryHost
from pyinfra_deploys.ufw import reach
from pyinfra_deploys.ufw.facts import MARKER, READ_LINES, UfwState

# How long the checks may take to pass. A converge ends once Rspamd's milter answers,
# so what still fails after it is no slow start; a switch restarts Rspamd without
# that wait, and under emulation its milter answers a minute or more later.
AFTER_CONVERGE_SECONDS = 30
AFTER_SWITCH_SECONDS = 150
# Armed before a converge or a switch starts: if february never comes back to confirm
# (killed, its laptop asleep, its route cut), the host goes back by itself after this
# long plus the settings' confirm_seconds. After the checks it is armed again with
# confirm_seconds alone, and a new connection must confirm within that.
WORK_ALLOWANCE_SECONDS = 1800


@dataclass(frozen=True)
class Outcome:
    """A remote command's exit status and what it printed."""

    status: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.status == 0


def _script(found: InventoryHost, *args: str, fresh: bool = False) -> Outcome:
    command = shlex.join([layout.GENERATION_SCRIPT, layout.GENERATION_CONFIG, *args])
    done = run(found, command, check=False, fresh=fresh)
    return Outcome(done.returncode, done.stdout, done.stderr)


def listing(found: InventoryHost) -> list[dict[str, Any]]:
    """The host's generations, oldest first; RemoteError when the host has no generations script yet."""
    done = _script(found, "list")
    if not done.ok:
        detail = (done.err or done.out).strip().splitlines()
        hint = " (converge the host first: february deploy)" if done.status == 127 else ""
        raise RemoteError(f"{found.name}: listing generations exited {done.status}: {detail[-1] if detail else ''}{hint}")
    data: list[dict[str, Any]] = json.loads(done.out)
    return data


def previous(generations: list[dict[str, Any]]) -> int | None:
    """The generation before the current one (what a rollback goes back to by default)."""
    now = next((g["number"] for g in generations if g["current"]), None)
    earlier = [g["number"] for g in generations if now is not None and g["number"] < now]
    return max(earlier) if earlier else None


def switch(found: InventoryHost, number: int, reason: str) -> Outcome:
    return _script(found, "switch", str(number), reason)


def verify(found: InventoryHost, seconds: int, fresh: bool = False, then_arm: tuple[int, int, str] | None = None) -> Outcome:
    """The switch's checks, retried for ``seconds``; ``then_arm`` (seconds, generation, reason): once they pass, arm
    the host's own rollback in the same call (exit status ``VERIFIED_NOT_ARMED`` when that fails)."""
    arming = ("arm", str(then_arm[0]), str(then_arm[1]), then_arm[2]) if then_arm is not None else ()
    return _script(found, "verify", str(seconds), *arming, fresh=fresh)


def arm_current(found: InventoryHost, seconds: int, reason: str) -> tuple[int | None, Outcome]:
    """Arm the host's own rollback to its current generation in one call; that generation (None: it has none).

    A host whose script predates ``arm SECONDS current`` (the deploy that is about
    to run places the new one) is asked the old way, ``current`` then ``arm N``:
    the first deploy after an upgrade of february keeps its way back too.
    """
    done = _script(found, "arm", str(seconds), "current", reason)
    if done.status == 1 and done.err.startswith("bad usage: "):
        now = _script(found, "current")
        if not (now.ok and now.out.strip().isdigit()):
            return None, now
        return int(now.out), _script(found, "arm", str(seconds), now.out.strip(), reason)
    first = done.out.splitlines()[0] if done.out.strip() else ""
    number = first.removeprefix("current ").strip()
    return (int(number) if number.isdigit() else None), done


def confirm(found: InventoryHost, fresh: bool = True) -> Outcome:
    """Disarm the host's own rollback: by default over a new connection, which is the proof that the owner still gets in.

    Exit status 255 (ssh) when the connection fails; 3 when the rollback had already run.
    """
    return _script(found, "confirm", fresh=fresh)


def armed(found: InventoryHost) -> bool:
    """Whether the host's own rollback is still armed (over a new connection; RemoteError when there is none)."""
    done = run(found, f"test -e {shlex.quote(layout.ROLLBACK_ARMED)}", check=False, fresh=True)
    if done.returncode == 255:
        raise RemoteError(done.stderr.strip() or "ssh failed")
    return done.returncode == 0


def ufw_after_switch_command(number: int) -> str:
    """What ``UfwState`` reads, from UFW's files as generation ``number`` would leave them."""
    script = shlex.join([layout.GENERATION_SCRIPT, layout.GENERATION_CONFIG, "show", str(number)])
    reads = [
        f'echo "{MARKER} file {path}"; if out=$({script} {shlex.quote(path)}); then '
        f"printf '%s\\n' \"$out\" | {READ_LINES}; "
        f'else echo "{MARKER} missing"; fi'
        for path in layout.UFW_FILES
    ]
    return "; ".join(reads) + f'; if [ -x {layout.UFW_BINARY} ]; then echo "{MARKER} installed"; fi; true'


def lockout(found: InventoryHost, number: int) -> str | None:
    """Why generation ``number``'s firewall would not let this machine back in over SSH; None when it would."""
    seen = connection(found)
    if seen is None:
        return None
    state = UfwState().process(run(found, ufw_after_switch_command(number)).stdout.splitlines())
    if not state["installed"] or not state["enabled"]:
        return None
    if reach.admits(state["rules"], seen.address, seen.port, state["defaults"].get("incoming", "deny")):
        return None
    return (
        f"generation {number}'s firewall would not let {seen.address} (this machine, as {found.name} sees it) "
        f"reach SSH on port {seen.port}"
    )


def when(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))

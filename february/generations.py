"""The host's generations from here: list them, switch to one, verify a switch (``pyinfra_deploys/generation.py`` runs there)."""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass
from typing import Any

from february.remote import RemoteError, run
from pyinfra_deploys import layout
from pyinfra_deploys.settings.inventory import InventoryHost

# How long the checks may take to pass. A converge ends once Rspamd's milter answers,
# so what still fails after it is no slow start; a switch restarts Rspamd without
# that wait, and under emulation its milter answers a minute or more later.
AFTER_CONVERGE_SECONDS = 30
AFTER_SWITCH_SECONDS = 150


@dataclass(frozen=True)
class Outcome:
    """A remote command's exit status and what it printed."""

    status: int
    out: str
    err: str

    @property
    def ok(self) -> bool:
        return self.status == 0


def _script(found: InventoryHost, *args: str) -> Outcome:
    command = shlex.join([layout.GENERATION_SCRIPT, layout.GENERATION_CONFIG, *args])
    done = run(found, command, check=False)
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


def current(found: InventoryHost) -> int | None:
    """The current generation, or None (never converged, or a host from before generations)."""
    done = _script(found, "current")
    return int(done.out) if done.ok and done.out.strip().isdigit() else None


def previous(generations: list[dict[str, Any]]) -> int | None:
    """The generation before the current one (what a rollback goes back to by default)."""
    now = next((g["number"] for g in generations if g["current"]), None)
    earlier = [g["number"] for g in generations if now is not None and g["number"] < now]
    return max(earlier) if earlier else None


def switch(found: InventoryHost, number: int, reason: str) -> Outcome:
    return _script(found, "switch", str(number), reason)


def verify(found: InventoryHost, seconds: int) -> Outcome:
    return _script(found, "verify", str(seconds))


def when(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))

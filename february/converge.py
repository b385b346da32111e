"""`february deploy` and `february rollback`: a switch the owner can trust.

Both follow deploy-rs's "magic rollback":

1. Refuse, before any change, a firewall that would not let this machine
   back in over SSH (the address the host sees, the port it reached),
   unless ``allow_lockout``.
2. Arm the host's own way back (``february-generation arm SECONDS current``,
   one call that also names the generation it goes back to): a transient
   systemd timer that switches to the generation before, unless confirmed.
3. Switch: converge with pyinfra, or switch to a recorded generation.
4. The host's checks (services, ports, milter, relay, a local delivery).
   When they fail, february switches back itself, as before.
5. Arm again with ``generations.confirm_seconds`` (in the checks' own call,
   once they pass) and confirm over a **new**
   SSH connection (no shared master: UFW's conntrack keeps an open session
   alive whatever the new rules say). Confirmed, the switch stays.
6. Not confirmed: the host goes back by itself when the timer fires;
   february waits for that, checks it from a new connection and exits 2.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from february import generations
from february.paths import REPO
from february.remote import RemoteError, connection, run
from images.progress import stage
from pyinfra_deploys.host.february_generation import VERIFIED_NOT_ARMED
from pyinfra_deploys.roles.firewall import ALLOW_LOCKOUT, lockout
from pyinfra_deploys.settings.inventory import InventoryHost

out = Console(highlight=False, soft_wrap=True)
POLL_SECONDS = 5
# After the timer fires, the host's switch back validates the whole set (postconf, doveconf,
# rspamadm configtest), reloads and records: over a minute on a slow emulated box.
SWITCH_BACK_SECONDS = 600


def pyinfra_argv(inventory: Path, found: InventoryHost | None, *, dry: bool = False, allow_lockout: bool = False) -> list[str]:
    """``pyinfra INVENTORY deploy.py`` for this one host (None: every host of the inventory): the one place its command line is built."""
    argv = [sys.executable, "-m", "pyinfra", str(inventory), str(REPO / "deploy.py")]
    if found is not None:
        argv += ["--limit", found.name]
    if dry:
        argv += ["--dry", "--diff", "--json"]
    else:
        argv.insert(3, "-y")
    if allow_lockout:
        argv += ["--data", f"{ALLOW_LOCKOUT}=true"]
    return argv


def say(text: str, style: str | None = None) -> None:
    out.print(text.strip(), style=style, markup=False)


def deployer_kept_in(found: InventoryHost, allow_lockout: bool) -> bool:
    """Whether the settings' firewall lets this machine back in (or the owner said it need not); says why not."""
    if not found.settings.firewall.enabled:
        return True
    seen = connection(found)
    problem = lockout(found.settings, seen) if seen is not None else None
    if problem is None:
        return True
    if allow_lockout:
        say(f"{problem}; applying it anyway (--allow-lockout)", "yellow")
        return True
    say(
        f"refused: {problem}. Nothing was changed. Add the deploying network to firewall.ssh_from, "
        "or pass --allow-lockout if you reach the host another way.",
        "red",
    )
    return False


def not_armed(armed: generations.Outcome) -> None:
    detail = (armed.err or armed.out).strip().splitlines()
    say(f"the host's own rollback could not be armed: {detail[-1] if detail else f'exit status {armed.status}'}", "yellow")


def arm_current(found: InventoryHost, seconds: int, reason: str) -> int | None:
    """Arm the host's own way back to the generation it runs now (in the same call that reads it); that generation."""
    number, armed = generations.arm_current(found, seconds, reason[:300])
    if not armed.ok:
        not_armed(armed)
    return number


def confirm_window(back_to: int, window: int) -> tuple[int, int, str]:
    """What the checks arm once they pass: back to ``back_to`` unless a new connection confirms within ``window``."""
    return window, back_to, f"automatic rollback: not confirmed over a new SSH connection within {window} s"


def verified(checked: generations.Outcome) -> bool:
    """The checks passed (whether or not the rollback after them could be armed: ``confirm_or_wait`` says that)."""
    return checked.ok or checked.status == VERIFIED_NOT_ARMED


def deploy(inventory: Path, found: InventoryHost, rollback: bool = True, allow_lockout: bool = False) -> int:
    """Converge, check, confirm over a new connection; 0 when the host runs the new generation, 2 otherwise."""
    if not deployer_kept_in(found, allow_lockout):
        return 2
    window = found.settings.generations.confirm_seconds
    before = arm_current(found, generations.WORK_ALLOWANCE_SECONDS + window, "automatic rollback: the deploy did not come back")
    status = subprocess.call(pyinfra_argv(inventory, found, allow_lockout=allow_lockout))
    if status == 0:
        then_arm = confirm_window(before, window) if before is not None else None
        with stage(f"Checks of {found.name} after the converge"):
            checked = generations.verify(found, generations.AFTER_CONVERGE_SECONDS, then_arm=then_arm)
        if verified(checked):
            say(checked.out)
            if before is None:
                return 0 if reached(found) else 2
            return confirm_or_wait(found, before, window, checked)
        failure = "the host failed its checks: " + "; ".join(checked.err.strip().splitlines())
    else:
        failure = f"the converge failed (pyinfra exited {status})"
    say(failure, "red")
    if before is not None:
        disarm(found)
    if not rollback or before is None:
        why = "--no-rollback" if not rollback else "the host had no generation before this converge"
        say(f"no automatic rollback ({why})")
        return 2
    switch(found, before, f"automatic rollback: {failure}"[:300])
    return 2


def rollback(found: InventoryHost, target: int, allow_lockout: bool = False) -> int:
    """Switch to generation ``target``, check, confirm over a new connection; 0 when it stays, 2 otherwise."""
    problem = generations.lockout(found, target)
    if problem is not None and not allow_lockout:
        say(f"refused: {problem}. Nothing was changed. Pass --allow-lockout if you reach the host another way.", "red")
        return 2
    if problem is not None:
        say(f"{problem}; switching anyway (--allow-lockout)", "yellow")
    window = found.settings.generations.confirm_seconds
    now = arm_current(
        found, generations.WORK_ALLOWANCE_SECONDS + window, f"automatic rollback: the switch to {target} did not come back"
    )
    checked = switch(found, target, f"rollback to {target}", then_arm=confirm_window(now, window) if now is not None else None)
    if checked is None:
        if now is not None:
            disarm(found)
        return 2
    return confirm_or_wait(found, now, window, checked) if now is not None else 0


def switch(
    found: InventoryHost, number: int, reason: str, then_arm: tuple[int, int, str] | None = None
) -> generations.Outcome | None:
    """Switch the host to generation ``number``, then verify it (and arm ``then_arm`` once verified); say how it
    went. The checks' outcome when they passed, None when the switch or its checks failed."""
    with stage(f"Switch {found.name} to generation {number}"):
        switched = generations.switch(found, number, reason)
    say(switched.out)
    if not switched.ok:
        say(switched.err, "red")
        return None
    with stage(f"Checks of {found.name} on generation {number}"):
        checked = generations.verify(found, generations.AFTER_SWITCH_SECONDS, then_arm=then_arm)
    if not verified(checked):
        say(checked.err, "red")
        return None
    say(f"{found.name} is on generation {number}'s files: {checked.out.strip()}")
    return checked


def disarm(found: InventoryHost) -> None:
    """february acts itself (over the connection it has): the host's own rollback is not needed."""
    try:
        generations.confirm(found, fresh=False)
    except RemoteError as error:
        say(f"the host's own rollback could not be disarmed: {error}", "yellow")


def reached(found: InventoryHost) -> bool:
    """A new SSH connection gets in (a first converge: there is no generation to go back to)."""
    with stage(f"A new SSH connection to {found.name}"):
        done = run(found, "true", check=False, fresh=True)
    if done.returncode == 0:
        say("reached over a new SSH connection")
        return True
    say(f"a new SSH connection failed: {done.stderr.strip()} (the first converge has no generation to go back to)", "red")
    return False


def confirm_or_wait(found: InventoryHost, back_to: int, window: int, checked: generations.Outcome) -> int:
    """Confirm over a new connection what the checks (``checked``) armed for ``window`` seconds; else wait for the host to go back."""
    if not checked.ok:
        not_armed(checked)
        say("the switch stays unconfirmed: the host could not arm its own rollback", "red")
        return 2
    with stage(f"Confirm over a new SSH connection to {found.name}"):
        confirmed = generations.confirm(found)
    if confirmed.ok:
        say(f"confirmed over a new SSH connection; {found.name} keeps the new generation")
        return 0
    detail = (confirmed.err or confirmed.out).strip().splitlines()
    say(f"not confirmed: a new SSH connection failed: {detail[-1] if detail else f'exit status {confirmed.status}'}", "red")
    say(f"{found.name} puts generation {back_to} back by itself within {window} s; waiting for it")
    return wait_for_host_rollback(found, back_to, window)


def wait_for_host_rollback(found: InventoryHost, back_to: int, window: int) -> int:
    """Poll over new connections until the host's own rollback has run, then check it; always 2 (the deploy did not stay)."""
    deadline = time.monotonic() + window + SWITCH_BACK_SECONDS
    last = "no answer yet"
    with stage(f"The host's own rollback to generation {back_to}") as on_line:
        while time.monotonic() < deadline:
            try:
                if not generations.armed(found):
                    break
                last = "reached; the host's switch back is still running (or its timer has not fired yet)"
            except RemoteError as error:
                last = str(error).splitlines()[-1]
            on_line(last)
            time.sleep(POLL_SECONDS)
        else:
            say(f"{found.name} did not come back within {window + SWITCH_BACK_SECONDS} s: {last}", "red")
            say("its timer goes on: look at the console, or `journalctl -u february-rollback` once in", "red")
            return 2
    listed = generations.listing(found)
    now = next((g for g in listed if g["current"]), None)
    with stage(f"Checks of {found.name} over a new connection"):
        checked = generations.verify(found, generations.AFTER_SWITCH_SECONDS, fresh=True)
    where = f"generation {now['number']} ({now['reason']})" if now else "no generation"
    if checked.ok:
        say(f"{found.name} went back by itself and is reached over a new SSH connection: {where}; {checked.out.strip()}")
    else:
        say(f"{found.name} went back by itself ({where}), but fails its checks: {checked.err.strip()}", "red")
    return 2

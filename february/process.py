"""Background processes known by a pid file or led by a child of ours: find one, stop one (with its group)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any


def pid_of(pidfile: Path) -> int | None:
    """The pid in ``pidfile`` when that process still exists, else None."""
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def ended(pid: int) -> bool:
    """No such process, or a zombie (its files and ports closed) that its parent, here often an init that reaps late,
    has not collected yet."""
    try:
        # The state follows the command name, which is in parentheses and may itself hold any character.
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


def gone(pid: int, timeout: float, poll: float = 0.1) -> bool:
    """Whether process ``pid`` has ended within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ended(pid):
            return True
        time.sleep(poll)
    return False


def terminate(pid: int, timeout: float, poll: float = 0.1) -> None:
    """SIGTERM, wait up to ``timeout`` seconds for the process to go, then SIGKILL."""
    os.kill(pid, signal.SIGTERM)
    if not gone(pid, timeout, poll):
        os.kill(pid, signal.SIGKILL)


def terminate_group(process: subprocess.Popen[Any], timeout: float, poll: float = 0.1) -> None:
    """SIGTERM the process group ``process`` leads (started with ``start_new_session``), then SIGKILL what is left.

    A tool's own children (Packer's QEMU) go with it, also when the leader
    exits first and leaves them behind. The leader is reaped on the way: an
    unreaped leader would still count as a member of its group.
    """
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(poll)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


# The nice of a background session's autogroup: a weight of 110 against a session's 1024.
BACKGROUND_NICE = 10


def to_background(pid: int | str = "self") -> None:
    """Let ``pid``'s session (autogroup) take only the CPU others leave: Linux shares the CPU between
    sessions before processes, so a plain ``nice`` within a session changes nothing against another.
    A kernel without autogroups leaves it as it is."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(f"{BACKGROUND_NICE}\n")

"""Background processes known by a pid file: find one, stop one."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def pid_of(pidfile: Path) -> int | None:
    """The pid in ``pidfile`` when that process still exists, else None."""
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


def terminate(pid: int, timeout: float, poll: float = 0.1) -> None:
    """SIGTERM, wait up to ``timeout`` seconds for the process to go, then SIGKILL."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(poll)
    os.kill(pid, signal.SIGKILL)

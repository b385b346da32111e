"""The one pid-file helper: a live pid is found, a stale or broken file is not, a process is stopped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from february.process import pid_of, terminate


def test_pid_of_a_live_a_gone_and_a_broken_pid_file(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    assert pid_of(pidfile) is None
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pidfile.write_text(f"{proc.pid}\n")
        assert pid_of(pidfile) == proc.pid
    finally:
        proc.kill()
        proc.wait()
    assert pid_of(pidfile) is None
    pidfile.write_text("not a pid")
    assert pid_of(pidfile) is None


def test_terminate_kills_what_ignores_sigterm() -> None:
    script = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    terminate(proc.pid, timeout=0.5)
    assert proc.wait(timeout=5) == -9

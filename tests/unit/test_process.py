"""The one pid-file helper: a live pid is found, a stale or broken file is not, a process is stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from february.process import gone, pid_of, terminate, terminate_group


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


def test_terminate_group_ends_a_child_the_leader_left_behind() -> None:
    # The leader starts a grandchild that ignores SIGTERM (as Packer's QEMU may outlive Packer), then waits.
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    leader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert leader.stdout is not None
    grandchild = int(leader.stdout.readline())
    terminate_group(leader, timeout=1)
    assert leader.returncode == -15  # the leader went with SIGTERM and was reaped
    with pytest.raises(ProcessLookupError):  # the grandchild is gone too (reaped by init)
        for _ in range(50):
            os.kill(grandchild, 0)
            time.sleep(0.1)


def test_terminate_group_of_a_finished_leader_returns_at_once() -> None:
    leader = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    leader.wait()
    began = time.monotonic()
    terminate_group(leader, timeout=30)
    assert time.monotonic() - began < 1


def test_a_zombie_has_gone_and_a_live_process_has_not() -> None:
    """An ended process its parent has not reaped (an init that reaps late) holds no file or port: it counts as gone."""
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # Not reaped here until the end: a zombie (unless an earlier test's child watcher reaped it: gone either way).
        assert gone(finished.pid, 5)
        assert not gone(live.pid, 0.3)
    finally:
        live.kill()
        live.wait()
        finished.wait()
    assert gone(live.pid, 1)

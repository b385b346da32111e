"""The `february` command's exit status is its command's: a typer.Exit code is not lost on the way out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FEBRUARY = Path(sys.executable).parent / "february"


def test_a_command_s_exit_code_reaches_the_shell(tmp_path: Path) -> None:
    """`february vm status` exits 1 when no VM runs (here: an empty state folder)."""
    env = {**os.environ, "FEBRUARY_STATE": str(tmp_path)}
    done = subprocess.run([str(FEBRUARY), "vm", "status"], capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.strip() == "not running"
    assert done.returncode == 1


def test_success_still_exits_0() -> None:
    done = subprocess.run([str(FEBRUARY), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "vm" in done.stdout

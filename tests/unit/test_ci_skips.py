"""Under CI=true a skipped test fails the run (tests/ci_skips.py); elsewhere it stays a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from february.paths import REPO


@pytest.mark.parametrize(("ci", "status"), [("true", 1), ("", 0)])
def test_a_skip_fails_the_run_only_under_ci(tmp_path: Path, ci: str, status: int) -> None:
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\n"
        "def test_runs():\n    pass\n\n"
        "@pytest.mark.skip(reason='needs a tool this machine lacks')\ndef test_skipped():\n    pass\n"
    )
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.ci_skips",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == status, done.stdout + done.stderr
    assert "1 passed, 1 skipped" in done.stdout
    assert ("skipped test(s) fail the run" in done.stdout) == bool(ci)

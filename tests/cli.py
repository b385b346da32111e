"""The one way tests run the ``february`` command: as an owner would, in a process of its own, from the repository."""

from __future__ import annotations

import os
import subprocess
import sys

from february.paths import REPO


def february(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 1800, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """``february ARGS`` with its output captured; ``env`` is added to this process's; ``check``: exit 0 or fail, quoting its output."""
    done = subprocess.run(
        [sys.executable, "-m", "february", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **env} if env else None,
        timeout=timeout,
    )
    if check:
        assert done.returncode == 0, (
            f"february {' '.join(args)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-4000:]}"
        )
    return done

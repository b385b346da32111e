"""Run an external command with its output streamed line by line."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path


class CommandFailed(RuntimeError):
    """A pipeline command exited non-zero; the message carries its last output lines."""


def run_streamed(
    argv: Sequence[str | Path],
    on_line: Callable[[str], None] | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> list[str]:
    """Run ``argv``, hand each output line to ``on_line``, return all lines.

    stderr is merged into stdout so progress and errors arrive in order.
    Raises CommandFailed with the tail of the output when the command fails.
    """
    lines: list[str] = []
    with subprocess.Popen(
        [str(a) for a in argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
    ) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            lines.append(line)
            if on_line is not None:
                on_line(line)
        code = proc.wait()
    if code != 0:
        tail = "\n".join(lines[-25:])
        raise CommandFailed(f"{argv[0]} exited {code}:\n{tail}")
    return lines

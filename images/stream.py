"""Run an external command with its output streamed line by line."""

from __future__ import annotations

import contextlib
import signal
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
    log: Path | None = None,
    stop_timeout: float | None = None,
    failure: Callable[[int], Exception] | None = None,
) -> list[str]:
    """Run ``argv``, hand each output line to ``on_line``, return all lines.

    stderr is merged into stdout so progress and errors arrive in order;
    with ``log`` every line is also appended there as it arrives.
    With ``stop_timeout``, an interruption here (an exception from
    ``on_line``, Ctrl-C, a signal handler that raises) sends the command
    SIGTERM and gives it that many seconds to clean up before it is killed.
    A failed command raises ``failure(exit code)`` when given, else
    CommandFailed with the tail of the output.
    """
    lines: list[str] = []
    with contextlib.ExitStack() as stack:
        log_handle = stack.enter_context(open(log, "a", encoding="utf-8")) if log is not None else None
        proc = stack.enter_context(
            subprocess.Popen(
                [str(a) for a in argv],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
            )
        )
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                if log_handle is not None:
                    log_handle.write(raw)
                    log_handle.flush()
                line = raw.rstrip("\n")
                lines.append(line)
                if on_line is not None:
                    on_line(line)
            code = proc.wait()
        except BaseException:
            if stop_timeout is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=stop_timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            raise
    if code != 0:
        if failure is not None:
            raise failure(code)
        tail = "\n".join(lines[-25:])
        raise CommandFailed(f"{argv[0]} exited {code}:\n{tail}")
    return lines

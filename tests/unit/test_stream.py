"""The one subprocess streamer: lines, a log, a failure of the caller's kind, a stop on interruption."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from images.stream import CommandFailed, run_streamed


def test_lines_arrive_in_order_and_land_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / "log"
    seen: list[str] = []
    lines = run_streamed(
        [sys.executable, "-c", "import sys; print('a'); print('b', file=sys.stderr)"], on_line=seen.append, log=log
    )
    assert lines == seen == ["a", "b"]
    assert log.read_text() == "a\nb\n"


def test_a_failure_is_raised_as_the_caller_says() -> None:
    with pytest.raises(CommandFailed, match="exited 3"):
        run_streamed([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(ValueError, match="code 3"):
        run_streamed([sys.executable, "-c", "raise SystemExit(3)"], failure=lambda code: ValueError(f"code {code}"))


def test_an_interrupted_run_stops_the_command(tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    script = (
        "import signal, sys, time\n"
        f"signal.signal(signal.SIGTERM, lambda *_: (open({str(marker)!r}, 'w').close(), sys.exit(1)))\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )

    def interrupt(line: str) -> None:
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_streamed([sys.executable, "-c", script], on_line=interrupt, stop_timeout=10)
    assert marker.exists()
    assert time.monotonic() - started < 10

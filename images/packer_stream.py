"""Run `packer build -machine-readable` and turn its lines into events.

Each machine-readable line is ``timestamp,target,type,data...``: the data
fields are comma separated, with commas inside a field written as
``%!(PACKER_COMMA)`` and newlines as a literal backslash-n. ``ui`` lines carry
what a person would see (``say``, ``message``, ``error``); ``artifact`` lines
describe what a build produced; ``error-count`` and ``error`` end a failed
run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from images.generalize import generalize_env
from images.stream import run_streamed


class PackerFailed(RuntimeError):
    """packer exited non-zero; the message names its errors and last output lines."""


@dataclass(frozen=True)
class Event:
    """One machine-readable line, unescaped."""

    timestamp: int
    target: str
    type: str
    data: tuple[str, ...]

    @property
    def ui_text(self) -> str | None:
        """The text of a ``ui`` line (say, message or error), else None."""
        if self.type == "ui" and len(self.data) >= 2:
            return self.data[1]
        return None


def unescape(field_text: str) -> str:
    return field_text.replace("%!(PACKER_COMMA)", ",").replace("\\r", "\r").replace("\\n", "\n")


def parse_line(line: str) -> Event | None:
    """An Event for a machine-readable line; None for anything else (e.g. a Go panic)."""
    parts = line.rstrip("\r\n").split(",")
    if len(parts) < 3 or not parts[0].isdigit():
        return None
    return Event(timestamp=int(parts[0]), target=parts[1], type=parts[2], data=tuple(unescape(p) for p in parts[3:]))


@dataclass
class PackerResult:
    """What a packer run reported: its artifacts (per target, index -> key -> value), its errors."""

    events: list[Event] = field(default_factory=list)
    artifacts: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    other_lines: list[str] = field(default_factory=list)

    def add(self, event: Event) -> None:
        self.events.append(event)
        if event.type == "artifact" and len(event.data) >= 3:
            index, key, *value = event.data
            self.artifacts.setdefault(event.target, {}).setdefault(index, {})[key] = ",".join(value)
        elif event.type == "error" and event.data:
            self.errors.append(event.data[0])
        elif event.type == "ui" and event.data[:1] == ("error",) and len(event.data) >= 2:
            self.errors.append(event.data[1])

    def ui_lines(self) -> list[str]:
        lines: list[str] = []
        for event in self.events:
            if event.ui_text is not None:
                lines += event.ui_text.splitlines()
        return lines + self.other_lines


def events_from(lines: Iterable[str], result: PackerResult, on_event: Callable[[Event], None] | None = None) -> None:
    """Parse ``lines`` into ``result``, handing each event to ``on_event`` as it arrives."""
    for line in lines:
        take_line(line, result, on_event)


def take_line(line: str, result: PackerResult, on_event: Callable[[Event], None] | None = None) -> None:
    """Parse one output line into ``result``; an event also goes to ``on_event``."""
    event = parse_line(line)
    if event is None:
        if line.strip():
            result.other_lines.append(line.rstrip("\n"))
        return
    result.add(event)
    if on_event is not None:
        on_event(event)


def run_packer(
    argv: Sequence[str | Path],
    on_event: Callable[[Event], None] | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    stop_timeout: float = 120.0,
) -> PackerResult:
    """Run a packer command with ``-machine-readable`` output, streaming its events.

    If this process is interrupted (Ctrl-C, or SIGTERM while this runs),
    packer gets SIGTERM and time to stop its VM and delete its output folder
    before it is killed. (SIGTERM, not SIGINT: a job started in the
    background of a non-interactive shell ignores SIGINT.)
    """
    result = PackerResult()

    def failed(code: int) -> PackerFailed:
        tail = "\n".join(result.ui_lines()[-30:])
        errors = "\n".join(result.errors) or "(no error line)"
        return PackerFailed(f"packer exited {code}\nerrors:\n{errors}\nlast output:\n{tail}")

    with _sigterm_raises():
        run_streamed(
            argv,
            on_line=lambda line: take_line(line, result, on_event),
            cwd=cwd,
            env=env,
            log=log,
            stop_timeout=stop_timeout,
            failure=failed,
        )
    return result


class Terminated(BaseException):
    """This process got SIGTERM while packer ran."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While active (main thread only), SIGTERM raises Terminated so cleanup runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def packer_env(tmp: Path, cache: Path) -> dict[str, str]:
    """Environment for packer: no update check (it would call out), temp files and cache where we say,
    and generalize.sh's paths (variables.pkr.hcl reads them with env())."""
    env = dict(os.environ)
    env.update(
        {
            "CHECKPOINT_DISABLE": "1",
            "PACKER_NO_COLOR": "1",
            "PACKER_CACHE_DIR": str(cache),
            "TMPDIR": str(tmp),
            **generalize_env(),
        }
    )
    env.pop("PACKER_LOG", None)
    return env

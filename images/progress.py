"""Stages with a spinner, the latest output line and their elapsed time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.text import Text

console = Console(stderr=True, highlight=False)


@contextmanager
def stage(title: str) -> Iterator[Callable[[str], None]]:
    """Show ``title`` with a spinner; the yielded callable updates its detail line.

    On a terminal the spinner shows the newest output line; elsewhere (CI,
    pipes) every line is printed, so a log keeps the whole story.
    """
    started = time.monotonic()
    live = console.is_terminal
    with console.status(Text(title), spinner="dots") as status:

        def on_line(line: str) -> None:
            line = line.strip()
            if not line:
                return
            elapsed = time.monotonic() - started
            if live:
                status.update(Text(f"{title} [{elapsed:5.0f}s] ") + Text(line[:100], style="dim"))
            else:
                console.print(Text(f"  [{elapsed:6.1f}s] {line}", style="dim"))

        try:
            yield on_line
        except BaseException:
            console.print(f"[red]✗[/red] {title} failed after {time.monotonic() - started:.1f}s")
            raise
    console.print(f"[green]✓[/green] {title} ({time.monotonic() - started:.1f}s)")

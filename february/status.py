"""`february status`: the host's health checks, run there, shown here.

The checks are ``pyinfra_deploys/host/february_status.py``, which the deploy places on the
host as ``layout.STATUS_SCRIPT`` with its configuration; this runs it over
SSH and renders its JSON: one line per check under its section's heading.
The exit status is the script's rule (``february_status.exit_code``).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from rich.console import Console
from rich.text import Text

from february.remote import RemoteError, run
from pyinfra_deploys import layout
from pyinfra_deploys.host import february_status
from pyinfra_deploys.settings.inventory import InventoryHost

COLOURS = {february_status.OK: "green", february_status.WARNING: "yellow", february_status.ERROR: "red"}
MARKS = {level: (mark, COLOURS[level]) for level, mark in february_status.MARKS.items()}  # the host's notices use the same marks
KEYS = ("section", "name", "level", "message")


def parse_report(host: str, stdout: str) -> list[dict[str, str]]:
    """The script's JSON, checked for its shape; RemoteError naming the host otherwise."""
    try:
        data: Any = json.loads(stdout)
    except ValueError:
        raise RemoteError(f"{host}: {layout.STATUS_SCRIPT} printed no report (converge the host first)") from None
    if not isinstance(data, list) or not all(
        isinstance(item, dict) and all(isinstance(item.get(key), str) for key in KEYS) and item["level"] in february_status.LEVELS
        for item in data
    ):
        raise RemoteError(f"{host}: {layout.STATUS_SCRIPT} printed a report of another shape")
    return [{key: item[key] for key in KEYS} for item in data]


def fetch(found: InventoryHost) -> list[dict[str, str]]:
    """Run the checks on the host (as root) and return their results."""
    command = f"{layout.STATUS_SCRIPT} {shlex.quote(layout.STATUS_CONFIG)}"
    done = run(found, command, check=False)
    if done.returncode not in (0, 1, 2) or not done.stdout.strip():
        detail = (done.stderr or done.stdout).strip().splitlines()
        missing = done.returncode == 127 or "No such file" in done.stderr
        hint = " (converge the host first: february deploy)" if missing else ""
        raise RemoteError(f"{found.name}: `{command}` exited {done.returncode}: {detail[-1] if detail else 'no output'}{hint}")
    return parse_report(found.name, done.stdout)


def generation_check(found: InventoryHost, generations: list[dict[str, Any]]) -> dict[str, str]:
    """Whether the host's current generation was made from this inventory's settings (checked here: the host cannot know)."""
    from pyinfra_deploys.stamp import settings_digest

    now = next((g for g in generations if g["current"]), None)
    if now is None:
        return february_status.result(
            "Generation", "current", february_status.WARNING, "no generation yet (converge: february deploy)"
        )
    number, reason = now["number"], now["reason"]
    if now["settings_digest"] != settings_digest(found.settings):
        message = f"generation {number} ({reason}) was made from other settings than this inventory's: february diff"
        return february_status.result("Generation", "current", february_status.WARNING, message)
    return february_status.result(
        "Generation", "current", february_status.OK, f"generation {number} ({reason}), from this inventory's settings"
    )


def render(results: list[dict[str, str]], console: Console, title: str | None = None) -> None:
    """Each section as a heading, then one line per check: ✓ ok, ! warning, ✖ error."""
    if title:
        console.print(Text(title, style="bold"))
    section = None
    for item in results:
        if item["section"] != section:
            section = item["section"]
            console.print(Text(section, style="bold underline"))
        mark, colour = MARKS[item["level"]]
        line = Text("  ")
        line.append(mark, style=f"bold {colour}")
        line.append(f" {item['name']}: ", style=colour if item["level"] != february_status.OK else "")
        line.append(item["message"])
        console.print(line)
    counts = {level: sum(1 for item in results if item["level"] == level) for level in february_status.LEVELS}
    warnings, errors = counts[february_status.WARNING], counts[february_status.ERROR]
    console.print(
        Text(f"{counts[february_status.OK]} ok, {warnings} warning{'s' * (warnings != 1)}, {errors} error{'s' * (errors != 1)}")
    )

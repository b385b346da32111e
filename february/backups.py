"""The backup flows the CLI runs: a backup now, the snapshots and the last run, a restore and its converge.

The host's backup script (``layout.BACKUP_SCRIPT status``) prints the last
success's time on its first line, then restic's snapshot list as JSON, or
"unreachable" when the repository cannot be read.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from february.converge import pyinfra_argv
from february.remote import run
from images.progress import stage
from images.stream import run_streamed
from pyinfra_deploys import layout
from pyinfra_deploys.settings.inventory import InventoryHost

SNAPSHOT = re.compile(r"latest|[0-9a-f]{8,64}")


@dataclass
class BackupState:
    last_success: int | None  # seconds since the epoch; None: never
    reachable: bool  # the repository could be read
    failed: bool  # the last run of the backup service failed
    snapshots: list[dict[str, Any]] = field(default_factory=list)  # restic's, newest last

    def last_success_text(self, now: float | None = None) -> str:
        if self.last_success is None:
            return "never"
        age = ((now if now is not None else time.time()) - self.last_success) / 3600
        return f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(self.last_success))} ({age:.1f} h ago)"


def parse_status(lines: list[str], failed: bool) -> BackupState:
    """The backup script's ``status`` output as data."""
    last = lines[0].strip() if lines else ""
    listing = "\n".join(lines[1:]).strip()
    reachable = listing != "unreachable"
    return BackupState(
        last_success=int(last) if last.isdigit() else None,
        reachable=reachable,
        failed=failed,
        snapshots=json.loads(listing or "[]") if reachable else [],
    )


def state(found: InventoryHost) -> BackupState:
    lines = run(found, f"{layout.BACKUP_SCRIPT} status").stdout.splitlines()
    failed = run(found, f"systemctl is-failed --quiet {layout.BACKUP_SERVICE}", check=False).returncode == 0
    return parse_status(lines, failed)


def backup_now(found: InventoryHost) -> None:
    with stage(f"Backup of {found.name}"):
        run(found, f"systemctl start {layout.BACKUP_SERVICE}")


def restore(inventory: Path, found: InventoryHost, snapshot: str) -> None:
    """Put ``snapshot``'s state back (the script stops the services meanwhile), then converge the host."""
    if not SNAPSHOT.fullmatch(snapshot):
        raise ValueError("a snapshot id (hex) or 'latest'")
    with stage(f"Restore snapshot {snapshot} on {found.name}"):
        run(found, f"{layout.BACKUP_SCRIPT} restore {snapshot}")
    with stage(f"Converge {found.name} after the restore") as on_line:
        run_streamed(pyinfra_argv(inventory, found), on_line=on_line)

"""What is mounted where, from /proc/mounts, and a build folder removed without crossing into a mount.

A build killed while mmdebstrap ran leaves proc, sys, devpts and a tmpfs
mounted inside its root. ``shutil.rmtree`` would walk into them (and try to
delete /sys's and /proc's entries), so a stale build folder is first freed
of its mounts, deepest first, and refused if any stays.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)


def mount_table(proc_mounts: str) -> list[tuple[str, str]]:
    """(source, mount point) of every line of /proc/mounts text, octal escapes undone."""
    return [
        (_unescape(fields[0]), _unescape(fields[1]))
        for fields in (line.split() for line in proc_mounts.splitlines())
        if len(fields) >= 2
    ]


def mount_sources(proc_mounts: str) -> dict[str, str]:
    """Mounted source -> its first mount point."""
    found: dict[str, str] = {}
    for source, point in mount_table(proc_mounts):
        found.setdefault(source, point)
    return found


def mounts_below(folder: Path, proc_mounts: str) -> list[str]:
    """The mount points at or under ``folder``, deepest first."""
    top = str(folder.resolve())
    points = {point for _, point in mount_table(proc_mounts) if point == top or point.startswith(top + "/")}
    return sorted(points, key=lambda point: point.count("/"), reverse=True)


def _proc_mounts() -> str:
    return Path("/proc/mounts").read_text()


def remove_build_folder(folder: Path) -> None:
    """Delete ``folder`` after unmounting whatever a killed build left mounted in it; refuse if a mount stays."""
    if not folder.exists():
        return
    for point in mounts_below(folder, _proc_mounts()):
        subprocess.run(["umount", point], capture_output=True, check=False)
    left = mounts_below(folder, _proc_mounts())
    if left:
        raise RuntimeError(
            f"{folder} still has mounts inside it ({', '.join(left)}), left by a build that was killed; "
            f"unmount them (umount -R {left[-1]}) and build again"
        )
    shutil.rmtree(folder)

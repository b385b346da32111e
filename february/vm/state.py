"""Backup and restore of a host's state: what a rebuild from the image cannot recreate.

Mail (the Maildir tree), the DKIM keys (published in DNS) and the TLS key
and certificate are state. Everything else on a February host follows from
the image, the inventory and the secrets.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from pyinfra_deploys.layout import STATE_PATHS as _ABSOLUTE

STATE_PATHS: tuple[str, ...] = tuple(path.lstrip("/") for path in _ABSOLUTE)


def backup(ssh: list[str], archive: Path) -> Path:
    """Stream a tar of the state paths from the host (over ``ssh``) into ``archive``."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    existing = " ".join(f"$(test -e /{p} && echo {p})" for p in STATE_PATHS)
    with open(partial, "wb") as out:
        subprocess.run(ssh + [f"tar -C / --numeric-owner -czf - {existing}"], stdout=out, check=True)
    partial.chmod(0o600)
    partial.rename(archive)
    return archive


def restore(ssh: list[str], archive: Path) -> None:
    """Unpack ``archive`` onto the host, keeping owners and modes."""
    with open(archive, "rb") as source:
        subprocess.run(ssh + ["tar -C / --numeric-owner -xzpf -"], stdin=source, check=True)

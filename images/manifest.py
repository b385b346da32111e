"""One writer for a build's manifest.json: the base layer's and the golden image's.

Each build folder (``~/.cache/february/base/<key16>/``,
``build/images/<hash16>/``) holds a ``manifest.json`` beside its disks:
indented JSON, one record of what went in and what came out. Both are
written here, so they have one format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


def write_manifest(folder: Path, record: dict[str, Any]) -> Path:
    """Write ``record`` as ``folder/manifest.json``; return its path."""
    path = folder / MANIFEST
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest in ``folder`` (FileNotFoundError or ValueError when there is none or it is damaged)."""
    record: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    return record

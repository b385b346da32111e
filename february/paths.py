"""Where the project and its local state live."""

from __future__ import annotations

import os
from pathlib import Path

from pyinfra_deploys.repo import REPO

__all__ = ["REPO", "state_dir"]


def state_dir() -> Path:
    """Local, never committed state (VM disks, generated secrets): $FEBRUARY_STATE or <repo>/.state."""
    return Path(os.environ.get("FEBRUARY_STATE", REPO / ".state"))

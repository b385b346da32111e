"""Where the project and its local state live."""

from __future__ import annotations

import os
from pathlib import Path

from pyinfra_deploys.repo import REPO

__all__ = ["REPO", "state_dir", "world_dir"]


def state_dir() -> Path:
    """Local, never committed state (VM disks, generated secrets): $FEBRUARY_STATE or <repo>/.state."""
    return Path(os.environ.get("FEBRUARY_STATE", REPO / ".state"))


def world_dir() -> Path:
    """The fake outside world's folder (smarthost spool, zone, test CA): one for all local VMs, which share its ports."""
    return state_dir() / "world"

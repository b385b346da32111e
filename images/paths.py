"""Where the repository is, as the image pipeline (and everything on top of it) sees it."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

"""The repository's own Python files, for the tests that read the code itself (imports, host paths)."""

from __future__ import annotations

from pathlib import Path

from february.paths import REPO


def python_files(*roots: str) -> list[Path]:
    """Every .py file under each of ``roots`` (a folder or a file, relative to the repository), sorted per root."""
    found: list[Path] = []
    for root in roots:
        path = REPO / root
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [path for path in found if "__pycache__" not in path.parts]

"""One way to hash input files: the converge stamp, the base layer's cache key and the golden image's inputs.

A digest covers each file's path relative to a root and its content, so a
renamed file changes it as an edited one does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path


def files_matching(root: Path, patterns: Iterable[str]) -> list[Path]:
    """The files under ``root`` matching the glob ``patterns``, sorted, without Python caches."""
    found: set[Path] = set()
    for pattern in patterns:
        for path in root.glob(pattern):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                found.add(path)
    return sorted(found)


def file_hashes(paths: Iterable[Path], root: Path) -> dict[str, str]:
    """Each file's path relative to ``root`` and the sha256 of its content, sorted by path."""
    hashes = {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}
    return dict(sorted(hashes.items()))


def hash_files(paths: Iterable[Path], root: Path, digest: hashlib._Hash | None = None) -> hashlib._Hash:
    """``digest`` (a new sha256 when None) updated with the files' relative paths and contents."""
    digest = digest or hashlib.sha256()
    digest.update(json.dumps(file_hashes(paths, root)).encode())
    return digest

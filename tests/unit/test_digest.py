"""One way to hash input files: paths and contents count, caches do not."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pyinfra_deploys.digest import file_hashes, files_matching, hash_files


def tree(tmp_path: Path) -> Path:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text("a")
    (tmp_path / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "top.py").write_text("top")
    return tmp_path


def test_the_inputs_are_the_matching_files_without_caches(tmp_path: Path) -> None:
    root = tree(tmp_path)
    assert files_matching(root, ["top.py", "pkg/**/*"]) == [root / "pkg" / "a.py", root / "top.py"]
    assert file_hashes([root / "top.py"], root) == {"top.py": hashlib.sha256(b"top").hexdigest()}


def test_a_renamed_or_edited_file_changes_the_digest(tmp_path: Path) -> None:
    root = tree(tmp_path)

    def digest() -> str:
        return hash_files(files_matching(root, ["**/*"]), root).hexdigest()

    before = digest()
    (root / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"other")
    assert digest() == before
    (root / "top.py").rename(root / "moved.py")
    moved = digest()
    assert moved != before
    (root / "moved.py").write_text("edited")
    assert digest() not in (before, moved)

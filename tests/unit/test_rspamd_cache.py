"""The lab's cache of Rspamd's compiled databases: only names not kept yet are copied out of a VM."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from february.vm import rspamd_cache

KEPT = "a" * 64 + ".hs"
NEW = "b" * 64 + ".hsmp"


def test_pull_copies_only_new_names_and_ignores_odd_ones(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / KEPT).write_bytes(b"kept")
    monkeypatch.setattr(rspamd_cache, "cache_dir", lambda: tmp_path)
    asked: list[str] = []

    def remote(host: Any, command: str, stdin: bytes | None = None) -> bytes:
        asked.append(command)
        if "find" in command:
            return f"{KEPT}\n{NEW}\nnot-a-database.hs\n".encode()
        packed = io.BytesIO()
        with tarfile.open(fileobj=packed, mode="w") as tar:
            info = tarfile.TarInfo(NEW)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"new"))
        return packed.getvalue()

    monkeypatch.setattr(rspamd_cache, "_remote", remote)
    assert rspamd_cache.pull(None) == 2  # type: ignore[arg-type]
    assert asked[1].endswith(f"tar cf - {NEW}")  # the kept one and the odd name stay on the VM
    assert (tmp_path / NEW).read_bytes() == b"new" and (tmp_path / KEPT).read_bytes() == b"kept"
    asked.clear()
    assert rspamd_cache.pull(None) == 2  # type: ignore[arg-type]
    assert len(asked) == 1  # nothing new: only the listing

"""What `february vm` prints when the VM is up names paths that exist where it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from february.vm.config import VmConfig
from february.vm.lifecycle import report
from images.progress import console


def test_the_relayed_folder_is_where_the_fake_smarthost_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEBRUARY_STATE", str(tmp_path))
    monkeypatch.setattr(console, "width", 1000)  # one line per entry, however long the path
    with console.capture() as captured:
        report(VmConfig())
    [relayed] = [line for line in captured.get().splitlines() if line.strip().startswith("relayed")]
    # The spool the world process is started with (world_process.start_world: --spool).
    assert relayed.split()[1] == str(tmp_path / "world" / "spool")

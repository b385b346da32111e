"""A stale build folder is freed of the mounts a killed build left before it is deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from images import mounts

PROC_MOUNTS = """\
/dev/vda / ext4 rw 0 0
proc /cache/base/k.partial/root/proc proc rw 0 0
sysfs /cache/base/k.partial/root/sys sysfs rw 0 0
devpts /cache/base/k.partial/root/dev/pts devpts rw 0 0
tmpfs /cache/base/k.partial/root/dev/shm tmpfs rw 0 0
tmpfs /cache/base/k.partial2 tmpfs rw 0 0
/dev/sdb1 /mnt/with\\040space vfat rw 0 0
"""


def test_the_mounts_under_a_folder_come_deepest_first_and_a_sibling_with_the_same_prefix_is_not_one() -> None:
    found = mounts.mounts_below(Path("/cache/base/k.partial"), PROC_MOUNTS)
    assert set(found[:2]) == {"/cache/base/k.partial/root/dev/pts", "/cache/base/k.partial/root/dev/shm"}
    assert set(found) == {
        "/cache/base/k.partial/root/proc",
        "/cache/base/k.partial/root/sys",
        "/cache/base/k.partial/root/dev/pts",
        "/cache/base/k.partial/root/dev/shm",
    }


def test_octal_escapes_are_undone() -> None:
    assert mounts.mount_sources(PROC_MOUNTS)["/dev/sdb1"] == "/mnt/with space"


def test_a_mount_that_stays_is_refused_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "k.partial"
    (folder / "root" / "proc").mkdir(parents=True)
    table = f"proc {folder}/root/proc proc rw 0 0\n"
    monkeypatch.setattr(mounts, "_proc_mounts", lambda: table)
    with pytest.raises(RuntimeError, match=r"still has mounts inside it \(.*/root/proc\)"):
        mounts.remove_build_folder(folder)
    assert (folder / "root" / "proc").is_dir()
    monkeypatch.setattr(mounts, "_proc_mounts", lambda: "")
    mounts.remove_build_folder(folder)
    assert not folder.exists()

"""The same root tree, seed and epoch give the same disk, byte for byte; another seed, other ids.

A small tree stands in for the image root (a kernel and initrd as Ubuntu lays
them out, a few files and a folder); the real tools assemble it: grub-mkimage,
mkfs.vfat and mtools, mke2fs -d, sfdisk.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest

from images.disk import DiskIds, make_disk


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("root")
    (root / "boot").mkdir()
    (root / "boot" / "vmlinuz-6.8.0-1-generic").write_bytes(b"kernel" * 1000)
    (root / "boot" / "initrd.img-6.8.0-1-generic").write_bytes(b"initrd" * 1000)
    (root / "boot" / "vmlinuz").symlink_to("vmlinuz-6.8.0-1-generic")
    (root / "boot" / "initrd.img").symlink_to("initrd.img-6.8.0-1-generic")
    (root / "etc" / "postfix").mkdir(parents=True)
    (root / "etc" / "postfix" / "main.cf").write_text("myhostname = mail.example.test\n")
    (root / "etc" / "hostname").write_text("localhost\n")
    # systemd's escaped unit names (and a space) reach debugfs as they are.
    (root / "etc" / "system-systemd\\x2dveritysetup.slice").write_text("[Unit]\n")
    (root / "etc" / "a name").write_text("x\n")
    return root


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def test_the_same_tree_and_seed_give_the_same_bytes(tree: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first.raw", tmp_path / "second.raw"
    make_disk(tree, first, size_gib=1, seed="inputs-abc")
    time.sleep(1.1)  # another second on the clock: nothing may follow it
    make_disk(tree, second, size_gib=1, seed="inputs-abc")
    assert sha256(first) == sha256(second)


def test_the_ids_come_from_the_seed(tree: Path, tmp_path: Path) -> None:
    disk = tmp_path / "disk.raw"
    make_disk(tree, disk, size_gib=1, seed="inputs-abc")
    table = json.loads(subprocess.run(["sfdisk", "--json", disk], capture_output=True, text=True, check=True).stdout)
    ids = DiskIds.of("inputs-abc")
    assert table["partitiontable"]["id"].lower() == ids.label_id
    assert [p["uuid"].lower() for p in table["partitiontable"]["partitions"]] == [ids.esp_uuid, ids.root_uuid]
    other = DiskIds.of("inputs-abd")
    assert len({ids.label_id, ids.esp_uuid, ids.root_uuid, ids.root_fs_uuid, other.label_id}) == 5

"""The local VM's seed is a flashed host's CIDATA image (root, the VM's key), without growing, with the VM's resolv.conf."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from february.vm.lifecycle import RESOLV_CONF
from february.vm.seed import write_seed
from images.seed import HostIdentity, user_data

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl vm"

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("mkfs.vfat", "mcopy", "mtype", "mlabel", "mdir")),
    reason="needs dosfstools and mtools",
)


def mtools(*argv: str) -> str:
    return subprocess.run(list(argv), capture_output=True, text=True, check=True).stdout


def test_the_vm_seed_is_the_flash_seed_for_root_with_its_own_disk_and_dns(tmp_path: Path) -> None:
    seed = write_seed(tmp_path / "seed.vfat", "mail.example.test", KEY, RESOLV_CONF)

    assert "CIDATA" in mtools("mlabel", "-i", str(seed), "-s", "::")
    assert sorted(mtools("mdir", "-i", str(seed), "-b", "::").split()) == ["::/meta-data", "::/user-data"]
    text = mtools("mtype", "-i", str(seed), "::user-data")
    assert text.startswith("#cloud-config\n")
    vm = json.loads(text.split("\n", 1)[1])
    flashed = json.loads(user_data(HostIdentity("mail.example.test", "root", KEY)).split("\n", 1)[1])
    assert vm["ssh_authorized_keys"] == [KEY] and vm["disable_root"] is False and vm["users"] == []
    assert vm["growpart"] == {"mode": "off"} and vm["resize_rootfs"] is False
    assert vm["write_files"] == [{"path": "/etc/resolv.conf", "permissions": "0644", "content": RESOLV_CONF}]
    different = {key for key in vm.keys() | flashed.keys() if vm.get(key) != flashed.get(key)}
    assert different == {"growpart", "resize_rootfs", "bootcmd", "write_files"}
    meta = json.loads(mtools("mtype", "-i", str(seed), "::meta-data"))
    assert meta["local-hostname"] == "mail" and meta["instance-id"].startswith("february-")


def test_each_seed_is_a_new_instance(tmp_path: Path) -> None:
    """Every boot is a first boot for cloud-init: a fresh VM gets its host keys and key made again."""
    ids = [
        json.loads(mtools("mtype", "-i", str(write_seed(tmp_path / "seed.vfat", "mail.example.test", KEY)), "::meta-data"))[
            "instance-id"
        ]
        for _ in range(2)
    ]
    assert ids[0] != ids[1]

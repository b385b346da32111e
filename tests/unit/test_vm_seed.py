"""The local VM's seed is a flashed host's user-data (root, the VM's key), without growing, with the VM's resolv.conf."""

from __future__ import annotations

import json

from february.vm.lifecycle import RESOLV_CONF
from february.vm.seed import vm_user_data
from images.seed import HostIdentity, user_data

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl vm"


def test_the_vm_seed_is_the_flash_seed_for_root_with_its_own_disk_and_dns() -> None:
    vm = json.loads(vm_user_data("mail.example.test", KEY, RESOLV_CONF).split("\n", 1)[1])
    flashed = json.loads(user_data(HostIdentity("mail.example.test", "root", KEY)).split("\n", 1)[1])
    assert vm["ssh_authorized_keys"] == [KEY] and vm["disable_root"] is False and vm["users"] == []
    assert vm["growpart"] == {"mode": "off"} and vm["resize_rootfs"] is False
    assert vm["write_files"] == [{"path": "/etc/resolv.conf", "permissions": "0644", "content": RESOLV_CONF}]
    different = {key for key in vm.keys() | flashed.keys() if vm.get(key) != flashed.get(key)}
    assert different == {"growpart", "resize_rootfs", "write_files"}

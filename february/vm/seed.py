"""The local VM's cloud-init NoCloud seed: the flash's CIDATA vfat image, attached as a second disk.

The user-data is a flashed host's (``images.seed``) with root as the admin
user, the VM's key, no growing (the VM's disk is the image's size) and the
VM's resolv.conf.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from images.seed import HostIdentity, write_seed_vfat
from pyinfra_deploys import layout


def vm_overrides(resolv_conf: str | None = None) -> dict[str, Any]:
    """What the VM's user-data changes in a flashed host's."""
    overrides: dict[str, Any] = {"growpart": {"mode": "off"}, "resize_rootfs": False}
    if resolv_conf:
        # Ubuntu's /etc/resolv.conf links to systemd-resolved's stub, which
        # asks over UDP; the fake DNS answers over TCP only (guestfwd). Make it
        # a file of its own (bootcmd runs before write_files; once it is a
        # file, later boots keep it).
        link = shlex.quote(layout.RESOLV_CONF)
        overrides["bootcmd"] = [["sh", "-c", f"if [ -L {link} ]; then rm -f {link}; fi"]]
        overrides["write_files"] = [{"path": layout.RESOLV_CONF, "permissions": "0644", "content": resolv_conf}]
    return overrides


def write_seed(path: Path, hostname: str, ssh_key: str, resolv_conf: str | None = None) -> Path:
    """Write the seed image at ``path``; a new instance-id each time."""
    return write_seed_vfat(path, HostIdentity(hostname, "root", ssh_key), overrides=vm_overrides(resolv_conf))

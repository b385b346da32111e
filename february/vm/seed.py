"""The local VM's cloud-init NoCloud seed: a `cidata` ISO with user-data and meta-data.

The user-data is a flashed host's (``images.seed``) with root as the admin
user, the VM's key, no growing (the VM's disk is the image's size) and the
VM's resolv.conf.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from images.seed import HostIdentity, meta_data, user_data


def vm_user_data(hostname: str, ssh_key: str, resolv_conf: str | None = None) -> str:
    overrides: dict[str, object] = {"growpart": {"mode": "off"}, "resize_rootfs": False}
    if resolv_conf:
        overrides["write_files"] = [{"path": "/etc/resolv.conf", "permissions": "0644", "content": resolv_conf}]
    return user_data(HostIdentity(hostname, "root", ssh_key), overrides)


def write_seed(path: Path, hostname: str, ssh_key: str, resolv_conf: str | None = None) -> None:
    """Write the seed ISO (volume label `cidata`) at ``path``; a new instance-id each time."""
    work = path.parent / "seed"
    work.mkdir(parents=True, exist_ok=True)
    user = work / "user-data"
    meta = work / "meta-data"
    user.write_text(vm_user_data(hostname, ssh_key, resolv_conf))
    meta.write_text(meta_data(hostname))
    subprocess.run(["cloud-localds", path, user, meta], check=True)

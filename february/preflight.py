"""Check the host before a command starts: tools, firmware, disk space, ports.

A missing tool is named with the package that brings it, in one line, from
the one host package list (``tools/host-packages.txt``, which ``./bootstrap``
installs); nothing starts half-way and dies with a traceback.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterable
from pathlib import Path

from february.paths import REPO
from images.firmware import OVMF_CODE, OVMF_VARS

HOST_PACKAGES = REPO / "tools" / "host-packages.txt"

# What each kind of work runs on this machine.
VM_TOOLS = ("qemu-system-x86_64", "qemu-img", "mkfs.vfat", "mcopy", "nc", "ssh", "ssh-keygen", "openssl")
BASE_TOOLS = ("mmdebstrap", "gpg", "grub-mkimage", "mcopy", "mmd", "mkfs.vfat", "sfdisk", "mke2fs", "debugfs")
# xorriso: Packer's cd_files puts the bake's seed on a CD with it.
IMAGE_TOOLS = (*VM_TOOLS, *BASE_TOOLS, "packer", "xorriso")
# The NoCloud seed (images.disk.make_vfat) and the flash that adds it to a disk.
SEED_TOOLS = ("mkfs.vfat", "mcopy", "mmd")
FLASH_TOOLS = ("sfdisk", *SEED_TOOLS)


class PreflightError(RuntimeError):
    """The host cannot run the command as it is; the message says what to do."""


def package_of() -> dict[str, str]:
    """Command name -> the Debian/Ubuntu package that ships it."""
    owners: dict[str, str] = {}
    for line in HOST_PACKAGES.read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if fields:
            owners.update(dict.fromkeys(fields[1:], fields[0]))
    return owners


def missing_packages(commands: Iterable[str]) -> list[str]:
    """The packages to install for the commands not on PATH (sorted, once each)."""
    owners = package_of()
    return sorted({owners.get(command, command) for command in commands if shutil.which(command) is None})


def require_tools(*commands: str) -> None:
    missing = missing_packages(commands)
    if missing:
        raise PreflightError(
            f"missing host packages: {' '.join(missing)} (run ./bootstrap --no-vm, or apt-get install {' '.join(missing)})"
        )


def require_firmware() -> None:
    absent = [str(path) for path in (OVMF_CODE, OVMF_VARS) if not path.is_file()]
    if absent:
        raise PreflightError(f"UEFI firmware missing ({', '.join(absent)}): apt-get install ovmf")


def require_free_space(path: Path, gib: float, what: str) -> None:
    """At least ``gib`` GiB free where ``path`` (or its nearest existing parent) lives."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free / 2**30
    if free < gib:
        raise PreflightError(f"{what} needs {gib:.0f} GiB free under {probe}, only {free:.1f} GiB is: free some space")


def require_free_ports(ports: dict[str, int], host: str = "127.0.0.1") -> None:
    """Each port must be free to bind (another VM or service on it stops us before anything starts)."""
    busy: list[str] = []
    for name, port in ports.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                busy.append(f"{host}:{port} ({name})")
    if busy:
        raise PreflightError(f"ports in use: {', '.join(busy)}; is another VM running? `february vm stop`, or free them")

"""Pick KVM where it really works, TCG otherwise.

``/dev/kvm`` existing proves nothing: under nested virtualisation here KVM
guests hang. So boot a 512-byte program under KVM that exits QEMU at once
through the isa-debug-exit port, with a deadline; only a clean exit counts.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from pathlib import Path

# mov al, 0 ; out 0xf4, al ; jmp $   -- then padding and the boot signature.
_BOOT_SECTOR = bytes.fromhex("b000e6f4ebfe").ljust(510, b"\0") + b"\x55\xaa"
_DEBUG_EXIT_STATUS = 1  # QEMU exits with (0 << 1) | 1


@functools.cache
def kvm_works(timeout: float = 10.0) -> bool:
    """True when a KVM guest boots and exits within ``timeout`` seconds."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        sector = Path(tmp) / "probe.img"
        sector.write_bytes(_BOOT_SECTOR)
        argv = [
            "qemu-system-x86_64",
            "-accel",
            "kvm",
            "-cpu",
            "host",
            "-m",
            "16",
            "-display",
            "none",
            "-nodefaults",
            "-no-reboot",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-drive",
            f"file={sector},format=raw,if=floppy",
        ]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == _DEBUG_EXIT_STATUS


def accel_args() -> list[str]:
    """QEMU accelerator arguments: KVM when it works, else ``-accel tcg -cpu max``."""
    if os.environ.get("FEBRUARY_ACCEL") == "tcg" or not kvm_works():
        return ["-accel", "tcg,thread=multi", "-cpu", "max"]
    return ["-accel", "kvm", "-cpu", "host"]

"""Pick KVM where it really works, TCG otherwise.

``/dev/kvm`` existing proves nothing: under nested virtualisation here a KVM
guest can run real-mode code and still fail as soon as the UEFI firmware
switches modes ("KVM internal error ... emulation failure"), after which the
VM hangs with no output. So the probe boots what every February VM boots, the
OVMF firmware, under KVM with a deadline: only a firmware that reaches its
boot manager (``BdsDxe`` on the serial console) counts.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from images.firmware import OVMF_CODE, OVMF_VARS

_BOOT_MANAGER = b"BdsDxe"
_KVM_FAILED = b"KVM internal error"


@functools.cache
def kvm_works(timeout: float = 15.0) -> bool:
    """True when OVMF under KVM reaches its boot manager within ``timeout`` seconds."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        variables = Path(tmp) / "vars.fd"
        shutil.copyfile(OVMF_VARS, variables)
        serial = Path(tmp) / "serial.log"
        argv = [
            "qemu-system-x86_64",
            "-machine",
            "q35",
            "-accel",
            "kvm",
            "-cpu",
            "host",
            "-m",
            "256",
            "-display",
            "none",
            "-nodefaults",
            "-no-reboot",
            "-drive",
            f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
            "-drive",
            f"if=pflash,format=raw,file={variables}",
            "-serial",
            f"file:{serial}",
        ]
        errors = Path(tmp) / "stderr.log"
        with open(errors, "wb") as stderr:
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                if serial.exists() and _BOOT_MANAGER in serial.read_bytes():
                    return True
                if _KVM_FAILED in errors.read_bytes():  # QEMU stops the guest and waits
                    return False
                time.sleep(0.2)
            return False
        finally:
            proc.kill()
            proc.wait()


def accel_args() -> list[str]:
    """QEMU accelerator arguments: KVM when it works, else ``-accel tcg -cpu max``."""
    if os.environ.get("FEBRUARY_ACCEL") == "tcg" or not kvm_works():
        return ["-accel", "tcg,thread=multi", "-cpu", "max"]
    return ["-accel", "kvm", "-cpu", "host"]

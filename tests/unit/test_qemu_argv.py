"""The local VM's QEMU command line: a QMP socket always, a USB controller where a disk is plugged in later."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from february.vm import qemu
from february.vm.config import for_name


def test_every_vm_has_its_qmp_socket_and_only_a_usb_box_an_xhci_controller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEBRUARY_STATE", str(tmp_path))
    plain = for_name("owner")
    plain.dir.mkdir(parents=True)
    argv = qemu.qemu_argv(plain, tmp_path / "disk.raw", None)
    assert argv[argv.index("-qmp") + 1] == f"unix:{plain.qmp_socket},server=on,wait=off"
    assert "qemu-xhci,id=xhci" not in argv
    usb = qemu.qemu_argv(replace(plain, usb=True), tmp_path / "disk.raw", None)
    assert usb[usb.index("qemu-xhci,id=xhci") - 1] == "-device"


def test_a_usb_disk_goes_only_into_a_vm_with_a_usb_controller(tmp_path: Path) -> None:
    with pytest.raises(qemu.VmError, match="no USB controller"):
        qemu.plug_usb_disk(for_name("owner"), tmp_path / "backup.img")

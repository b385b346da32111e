"""Assemble a UEFI-bootable GPT disk from a root directory, without mounting.

Loop partitions are not available on the build machines, so every filesystem
is made from a file: ``mke2fs -d`` fills the root filesystem from the
directory, ``mkfs.vfat`` plus mtools make the ESP, ``sfdisk`` writes the GPT
on the disk file and ``dd`` places both filesystems at their offsets.

GRUB is a standalone EFI binary whose embedded grub.cfg finds the root
filesystem by label, so nothing has to be installed into the disk.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from images.stream import run_streamed

MIB = 1024 * 1024
ESP_START_MIB = 1
ESP_SIZE_MIB = 64
ROOT_LABEL = "root"

KERNEL_CMDLINE = f"root=LABEL={ROOT_LABEL} rw console=tty0 console=ttyS0,115200n8 net.ifnames=1"


def boot_files(root: Path) -> tuple[str, str]:
    """The kernel and initrd links in ``root``, as paths from its top.

    Debian's kernel packages put the ``vmlinuz``/``initrd.img`` links in
    ``/``, Ubuntu's in ``/boot``: read where they are, not which OS it is.
    """
    for folder in ("", "boot/"):
        kernel, initrd = f"{folder}vmlinuz", f"{folder}initrd.img"
        if (root / kernel).exists() and (root / initrd).exists():
            return kernel, initrd
    raise FileNotFoundError(
        f"{root}: no vmlinuz and initrd.img links, in / or /boot (is a kernel and initramfs-tools installed?)"
    )


def grub_cfg(kernel: str, initrd: str) -> str:
    """The standalone GRUB's embedded configuration: find the root by label, boot it."""
    return f"""\
set timeout=0
insmod part_gpt
insmod ext2
search --no-floppy --set=root --label {ROOT_LABEL}
linux ($root)/{kernel} {KERNEL_CMDLINE}
initrd ($root)/{initrd}
boot
"""


def make_vfat(
    image: Path,
    size_kib: int,
    label: str,
    files: dict[str, Path],
    *,
    fat_bits: int | None = None,
    on_line: Callable[[str], None] | None = None,
) -> None:
    """A vfat filesystem image of ``size_kib`` labelled ``label``, holding ``files`` (path in it -> source).

    Made in a file with mkfs.vfat and filled with mtools, so nothing is
    mounted; ``dd`` (or a write at the partition's offset) places it.
    """
    image.unlink(missing_ok=True)
    subprocess.run(["truncate", "-s", f"{size_kib}K", image], check=True)
    run_streamed(["mkfs.vfat", *(["-F", str(fat_bits)] if fat_bits else []), "-n", label, image], on_line=on_line)
    folders = sorted({"/".join(parts[:i]) for name in files for parts in [name.split("/")] for i in range(1, len(parts))})
    if folders:
        run_streamed(["mmd", "-i", image, *(f"::/{folder}" for folder in folders)], on_line=on_line)
    for name, source in files.items():
        run_streamed(["mcopy", "-i", image, source, f"::/{name}"], on_line=on_line)


def make_disk(root: Path, disk_raw: Path, size_gib: int = 4, on_line: Callable[[str], None] | None = None) -> None:
    """Write a raw GPT disk image with an ESP and an ext4 root made from ``root``."""
    with tempfile.TemporaryDirectory(prefix="february-disk-") as tmp_name:
        tmp = Path(tmp_name)
        cfg_file = tmp / "grub.cfg"
        cfg_file.write_text(grub_cfg(*boot_files(root)))
        bootx64 = tmp / "BOOTX64.EFI"
        run_streamed(
            [
                "grub-mkstandalone",
                "-O",
                "x86_64-efi",
                "--modules=part_gpt ext2 search_label linux normal",
                "-o",
                bootx64,
                f"boot/grub/grub.cfg={cfg_file}",
            ],
            on_line=on_line,
        )

        esp = tmp / "esp.img"
        make_vfat(esp, ESP_SIZE_MIB * 1024, "ESP", {"EFI/BOOT/BOOTX64.EFI": bootx64}, fat_bits=32, on_line=on_line)

        root_start_mib = ESP_START_MIB + ESP_SIZE_MIB
        root_size_mib = size_gib * 1024 - root_start_mib - 1  # leave room for the backup GPT
        rootfs = tmp / "root.img"
        run_streamed(
            [
                "mke2fs",
                "-q",
                "-t",
                "ext4",
                "-L",
                ROOT_LABEL,
                # GRUB 2.06 cannot read these two features.
                "-O",
                "^orphan_file,^metadata_csum_seed",
                "-d",
                root,
                rootfs,
                f"{root_size_mib}M",
            ],
            on_line=on_line,
        )

        disk_raw.unlink(missing_ok=True)
        subprocess.run(["truncate", "-s", f"{size_gib}G", disk_raw], check=True)
        table = (
            "label: gpt\n"
            f"start={ESP_START_MIB}MiB, size={ESP_SIZE_MIB}MiB, type=U, name=ESP\n"
            f"start={root_start_mib}MiB, size={root_size_mib}MiB, type=L, name=root\n"
        )
        subprocess.run(["sfdisk", "--quiet", disk_raw], input=table, text=True, check=True)
        for image, start_mib in ((esp, ESP_START_MIB), (rootfs, root_start_mib)):
            subprocess.run(
                ["dd", f"if={image}", f"of={disk_raw}", "bs=1M", f"seek={start_mib}", "conv=notrunc,sparse", "status=none"],
                check=True,
            )


def to_qcow2(raw: Path, qcow2: Path) -> None:
    """Convert a raw disk to qcow2 (sparse, uncompressed for fast boots)."""
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow2], check=True)

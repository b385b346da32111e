"""Assemble a UEFI-bootable GPT disk from a root directory, without mounting.

Loop partitions are not available on the build machines, so every filesystem
is made from a file: ``mke2fs -d`` fills the root filesystem from the
directory, ``mkfs.vfat`` plus mtools make the ESP, ``sfdisk`` writes the GPT
on the disk file and ``dd`` places both filesystems at their offsets.

GRUB is a standalone EFI binary whose embedded grub.cfg finds the root
filesystem by label, so nothing has to be installed into the disk.

**The same tree and seed give the same bytes.** Nothing is left to chance or
to the clock: the GPT's disk and partition GUIDs, the ext4 UUID and its
directory hash seed and the vfat volume id derive from ``seed`` (uuid5); the
filesystems' own times are ``epoch`` (mke2fs through ``E2FSPROGS_FAKE_TIME``:
e2fsprogs 1.47.0 does not read ``SOURCE_DATE_EPOCH``; mkfs.vfat
``--invariant``; mtools' file times from the sources, set to ``epoch``).
What mke2fs copies from the tree (each inode's times, owner, mode) is the
tree's: a tree made again differs in its ctimes.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from images.stream import run_streamed

MIB = 1024 * 1024
ESP_START_MIB = 1
ESP_SIZE_MIB = 64
ROOT_LABEL = "root"

KERNEL_CMDLINE = f"root=LABEL={ROOT_LABEL} rw console=tty0 console=ttyS0,115200n8 net.ifnames=1"
# 2024-01-01 00:00 UTC: the default epoch of a disk's own times (after 1980, which FAT needs).
DEFAULT_EPOCH = 1704067200
NAMESPACE = uuid.UUID("5f1b0c8e-2b7e-4c43-9d1e-0febb0a0f001")  # february's, for uuid5
# What the embedded grub.cfg needs: the GPT, ext4, find by label, load Linux, boot.
GRUB_MODULES = ("part_gpt", "ext2", "search", "search_label", "linux", "normal", "boot")
TIME_FIELDS = ("atime", "ctime", "mtime", "crtime")


@dataclass(frozen=True)
class DiskIds:
    """Every identifier a disk carries, derived from one seed: the same seed, the same ids."""

    label_id: str  # the GPT's disk GUID
    esp_uuid: str  # the ESP's partition GUID
    root_uuid: str  # the root partition's GUID
    root_fs_uuid: str  # the ext4 UUID
    root_hash_seed: str  # ext4's directory hash seed
    esp_volume_id: str  # the vfat volume id (8 hex digits)

    @classmethod
    def of(cls, seed: str) -> DiskIds:
        def derived(name: str) -> str:
            return str(uuid.uuid5(NAMESPACE, f"{seed}/{name}"))

        return cls(
            label_id=derived("gpt"),
            esp_uuid=derived("esp"),
            root_uuid=derived("root"),
            root_fs_uuid=derived("root-fs"),
            root_hash_seed=derived("root-hash"),
            esp_volume_id=derived("esp-fs").replace("-", "")[:8],
        )


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
    volume_id: str | None = None,
    epoch: int | None = None,
) -> None:
    """A vfat filesystem image of ``size_kib`` labelled ``label``, holding ``files`` (path in it -> source).

    Made in a file with mkfs.vfat and filled with mtools, so nothing is
    mounted; ``dd`` (or a write at the partition's offset) places it.
    With ``volume_id`` and ``epoch`` the image's bytes depend on the files'
    content alone (mkfs.vfat ``--invariant``, the files' times set to ``epoch``).
    """
    image.unlink(missing_ok=True)
    subprocess.run(["truncate", "-s", f"{size_kib}K", image], check=True)
    fixed: list[str | Path] = ["--invariant", "-i", volume_id] if volume_id is not None else []
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)} if epoch is not None else None
    mkfs: list[str | Path] = ["mkfs.vfat", *fixed, *(["-F", str(fat_bits)] if fat_bits else []), "-n", label, image]
    run_streamed(mkfs, on_line=on_line, env=env)
    folders = sorted({"/".join(parts[:i]) for name in files for parts in [name.split("/")] for i in range(1, len(parts))})
    if folders:
        run_streamed(["mmd", "-i", image, *(f"::/{folder}" for folder in folders)], on_line=on_line, env=env)
    for name, source in files.items():
        if epoch is not None:
            os.utime(source, (epoch, epoch))
        run_streamed(
            ["mcopy", *(["-m"] if epoch is not None else []), "-i", image, source, f"::/{name}"], on_line=on_line, env=env
        )


def make_disk(
    root: Path,
    disk_raw: Path,
    size_gib: int = 4,
    on_line: Callable[[str], None] | None = None,
    *,
    seed: str = "february",
    epoch: int = DEFAULT_EPOCH,
) -> None:
    """Write a raw GPT disk image with an ESP and an ext4 root made from ``root``.

    Its ids come from ``seed`` and its own times are ``epoch``: the same tree, seed and epoch give the same bytes.
    """
    ids = DiskIds.of(seed)
    with tempfile.TemporaryDirectory(prefix="february-disk-") as tmp_name:
        tmp = Path(tmp_name)
        cfg_file = tmp / "grub.cfg"
        cfg_file.write_text(grub_cfg(*boot_files(root)))
        bootx64 = tmp / "BOOTX64.EFI"
        # grub-mkimage with the configuration embedded (-c) and its modules built in:
        # the same bytes each time (grub-mkstandalone's memdisk tar carries the clock).
        run_streamed(
            ["grub-mkimage", "-O", "x86_64-efi", "-p", "/EFI/BOOT", "-c", cfg_file, "-o", bootx64, *GRUB_MODULES],
            on_line=on_line,
        )

        esp = tmp / "esp.img"
        make_vfat(
            esp,
            ESP_SIZE_MIB * 1024,
            "ESP",
            {"EFI/BOOT/BOOTX64.EFI": bootx64},
            fat_bits=32,
            on_line=on_line,
            volume_id=ids.esp_volume_id,
            epoch=epoch,
        )

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
                "-U",
                ids.root_fs_uuid,
                "-E",
                f"hash_seed={ids.root_hash_seed}",
                # GRUB 2.06 cannot read these two features.
                "-O",
                "^orphan_file,^metadata_csum_seed",
                "-d",
                root,
                rootfs,
                f"{root_size_mib}M",
            ],
            on_line=on_line,
            env={**os.environ, "E2FSPROGS_FAKE_TIME": str(epoch)},
        )

        normalise_times(rootfs, root, epoch, on_line=on_line)

        disk_raw.unlink(missing_ok=True)
        subprocess.run(["truncate", "-s", f"{size_gib}G", disk_raw], check=True)
        table = (
            "label: gpt\n"
            f"label-id: {ids.label_id}\n"
            f"start={ESP_START_MIB}MiB, size={ESP_SIZE_MIB}MiB, type=U, name=ESP, uuid={ids.esp_uuid}\n"
            f"start={root_start_mib}MiB, size={root_size_mib}MiB, type=L, name=root, uuid={ids.root_uuid}\n"
        )
        subprocess.run(["sfdisk", "--quiet", disk_raw], input=table, text=True, check=True)
        for image, start_mib in ((esp, ESP_START_MIB), (rootfs, root_start_mib)):
            subprocess.run(
                ["dd", f"if={image}", f"of={disk_raw}", "bs=1M", f"seek={start_mib}", "conv=notrunc,sparse", "status=none"],
                check=True,
            )


def time_commands(root: Path, epoch: int) -> list[str]:
    """debugfs commands that give every inode made from ``root`` the times ``epoch`` (mtime: clamped to it), whole seconds.

    mke2fs -d copies each inode's times from the tree, its ctime (which nothing
    can set) and the atime its own reading moves on: two assemblies of one
    tree, or two trees alike, would differ there alone.
    """
    commands: list[str] = []
    for folder, dirs, files in os.walk(root):
        for name in [".", *dirs, *files]:
            path = Path(folder) if name == "." else Path(folder) / name
            inside = "/" + str(path.relative_to(root)) if path != root else "/"
            # debugfs takes a quoted name as it is (a backslash too: systemd's unit names have them),
            # but it cannot be given a double quote or a control character.
            if '"' in inside or not inside.isprintable():
                raise ValueError(f"{path}: a name debugfs cannot be given (a double quote or a control character)")
            mtime = min(int(path.lstat().st_mtime), epoch)
            for field in TIME_FIELDS:
                commands.append(f'sif "{inside}" {field} @{mtime if field == "mtime" else epoch}')
                commands.append(f'sif "{inside}" {field}_extra 0')
    for field in TIME_FIELDS:  # made by mke2fs itself
        commands += [f'sif "/lost+found" {field} @{epoch}', f'sif "/lost+found" {field}_extra 0']
    return commands


def normalise_times(image: Path, root: Path, epoch: int, on_line: Callable[[str], None] | None = None) -> None:
    """Set the times of the ext4 ``image`` made from ``root`` (``time_commands``), in one debugfs run."""
    with tempfile.NamedTemporaryFile("w", prefix="february-times-", suffix=".debugfs") as script:
        script.write("\n".join(time_commands(root, epoch)) + "\n")
        script.flush()
        done = subprocess.run(["debugfs", "-w", "-f", script.name, image], capture_output=True, text=True)
    # debugfs exits 0 whatever a command said: its complaints are on stderr, after its banner.
    complaints = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("debugfs ")]
    if done.returncode != 0 or complaints:
        raise RuntimeError(f"debugfs could not set the times in {image}: {' | '.join(complaints[:5]) or done.returncode}")
    if on_line is not None:
        on_line(f"inode times set to {epoch} (mtime clamped)")


def to_qcow2(raw: Path, qcow2: Path) -> None:
    """Convert a raw disk to qcow2 (sparse, uncompressed for fast boots)."""
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow2], check=True)

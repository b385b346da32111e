"""Write the golden raw image onto a disk, verify it, and give the disk its host's identity.

``flash(image, target, identity, ...)`` (``february image flash``):

1. refuses a target that is mounted, held (LVM, RAID, dm), backs ``/``, or
   is smaller than the image; a disk *file* that is missing or smaller is
   created or grown to ``size`` (never shrunk); asks before overwriting
   unless ``assume_yes`` (no terminal to ask on: refused);
2. writes the image (a file target stays sparse: zero blocks are skipped
   after the file was emptied), hashing it as it goes, and compares that
   hash with the manifest's sha256 of the artifact: a damaged or altered
   image stops here;
3. drops the written range from the page cache, reads the first
   image-size bytes of the target back and compares their hash too;
4. moves the backup GPT to the real end of the disk (a raw image written
   to a larger disk has its backup header in the middle) and adds the
   NoCloud seed partition.

Where the seed partition goes: cloud-init's growpart grows the root
partition (the last one) up to the next partition that *starts after it*,
or the disk's end. A seed placed after root would stop that growth, and
deleting it after first boot would invalidate cloud-init's instance cache
(NoCloud re-checks its seed at every boot; with the seed gone it falls back
to the None datasource, a "new instance", and re-runs the first-boot
modules). So the seed goes *before* everything: into the gap between the GPT
entry array (ends at LBA 33) and the first partition (the ESP at 1 MiB,
LBA 2048 in images/disk.py; the Ubuntu cloud image starts at 2048 as
well). That is 1007 KiB, enough for a FAT12 volume with two small files.
The GPT header's first usable LBA is lowered to 34 so the entry is valid.
The seed then stays on the disk for good (it is public data: host name,
user name, public key), every boot finds the same instance-id, and growpart
still sees free space right up to the backup GPT.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from images.manifest import MANIFEST
from images.mounts import mount_sources
from images.seed import SEED_LABEL, HostIdentity, write_seed_vfat

CHUNK = 4 * 1024 * 1024
SECTOR = 512
# GPT: protective MBR (LBA 0), header (LBA 1), 128 entries of 128 bytes (LBA 2-33).
GPT_ENTRIES_END_LBA = 33
MIN_SEED_SECTORS = 256  # 128 KiB: a FAT12 volume with two small files
# "Microsoft basic data": what a vfat data partition is typed as.
BASIC_DATA = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"

Ask = Callable[[str], bool]


class FlashError(RuntimeError):
    """A refusal or a failed check; the message says which and what to do."""


@dataclass(frozen=True)
class FlashReport:
    target: Path
    image_bytes: int
    target_bytes: int
    sha256: str
    write_seconds: float
    verify_seconds: float
    seed_start_lba: int
    seed_sectors: int

    @property
    def write_mib_per_s(self) -> float:
        return self.image_bytes / 1024 / 1024 / max(self.write_seconds, 1e-9)

    @property
    def verify_mib_per_s(self) -> float:
        return self.image_bytes / 1024 / 1024 / max(self.verify_seconds, 1e-9)


# ----- what the target is, and whether it may be written -----


def block_name(device: Path) -> str | None:
    """The kernel name (``sda``, ``nvme0n1p2``) of a block device node, or None for anything else."""
    try:
        st = device.stat()
    except FileNotFoundError:
        return None
    if not stat.S_ISBLK(st.st_mode):
        return None
    link = Path(f"/sys/dev/block/{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}")
    return link.resolve().name if link.exists() else Path(os.path.realpath(device)).name


def disk_of(name: str, sys_class_block: Path = Path("/sys/class/block")) -> str:
    """The whole disk a partition belongs to (``sda2`` -> ``sda``); a disk is its own."""
    entry = sys_class_block / name
    if (entry / "partition").exists():
        return entry.resolve().parent.name
    return name


def underlying_disks(name: str, sys_class_block: Path = Path("/sys/class/block")) -> set[str]:
    """The whole disks under a block device, through dm/md ``slaves`` (root on LVM or RAID)."""
    slaves = sys_class_block / name / "slaves"
    below = sorted(slaves.iterdir()) if slaves.is_dir() else []
    if not below:
        return {disk_of(name, sys_class_block)}
    disks: set[str] = set()
    for slave in below:
        disks |= underlying_disks(slave.name, sys_class_block)
    return disks


def root_disks(proc_mounts: str, sys_class_block: Path = Path("/sys/class/block")) -> set[str]:
    """The disks the running system's ``/`` lives on (empty when / is not a block device: overlay, tmpfs)."""
    disks: set[str] = set()
    for source, point in mount_sources(proc_mounts).items():
        if point == "/" and source.startswith("/dev/"):
            name = Path(os.path.realpath(source)).name
            if (sys_class_block / name).exists():
                disks |= underlying_disks(name, sys_class_block)
    return disks


def partitions_of(disk: str, sys_block: Path = Path("/sys/block")) -> list[str]:
    folder = sys_block / disk
    return sorted(child.name for child in folder.iterdir() if (child / "partition").exists()) if folder.is_dir() else []


def device_in_use(
    disk: str, proc_mounts: str, sys_block: Path = Path("/sys/block"), sys_class_block: Path = Path("/sys/class/block")
) -> str | None:
    """Why the whole disk ``disk`` must not be written (mounted, held, backs /), or None."""
    if disk in root_disks(proc_mounts, sys_class_block):
        return f"/dev/{disk} holds the running system's / (refusing to overwrite the disk this machine runs from)"
    names = [disk, *partitions_of(disk, sys_block)]
    for source, point in mount_sources(proc_mounts).items():
        if source.startswith("/dev/") and Path(os.path.realpath(source)).name in names:
            return f"{source} (on /dev/{disk}) is mounted on {point}; unmount it first"
    for name in names:
        holders = sys_block / disk / (name if name != disk else "") / "holders"
        held = sorted(h.name for h in holders.iterdir()) if holders.is_dir() else []
        if held:
            return f"/dev/{name} is held by {', '.join(held)} (LVM, RAID or dm-crypt); release it first"
    return None


def file_in_use(path: Path, sys_block: Path = Path("/sys/block")) -> str | None:
    """Why a disk *file* must not be written: a loop device serves it (it may be mounted), or None."""
    real = os.path.realpath(path)
    for backing in sorted(sys_block.glob("loop*/loop/backing_file")):
        if backing.read_text().strip() == real:
            return f"{path} is attached to /dev/{backing.parent.parent.name}; detach it (losetup -d) first"
    return None


def device_size(path: Path) -> int:
    """Bytes of a block device or a file (seeking to the end works for both)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def ask_on_terminal(question: str) -> bool:
    """Ask on the terminal; without one (a pipe, CI) there is nobody to ask: refuse."""
    if not sys.stdin.isatty():
        raise FlashError(f"{question} -- no terminal to ask on; pass --yes to overwrite without asking")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def image_record(image: Path, manifest: Path | None = None) -> dict[str, object]:
    """The image's artifact record (sha256, size) from the build's manifest.json."""
    manifest = manifest or image.parent / MANIFEST
    try:
        record: dict[str, object] = json.loads(manifest.read_text())["artifacts"][image.name]
        if not isinstance(record["sha256"], str) or not isinstance(record["size"], int):
            raise TypeError
    except FileNotFoundError:
        raise FlashError(f"no manifest at {manifest}: cannot verify {image.name} (pass --manifest)") from None
    except (KeyError, TypeError, ValueError):
        raise FlashError(f"{manifest} has no sha256 and size for artifact {image.name!r}") from None
    return record


# ----- writing and reading back -----


@contextmanager
def _bar(title: str, total: int, show: bool) -> Iterator[Callable[[int], None]]:
    if not show:
        yield lambda _n: None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    from images.progress import console

    columns = (TextColumn(title), BarColumn(), DownloadColumn(binary_units=True), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(title, total=total)
        yield lambda n: progress.advance(task, n)


def write_image(image: Path, target: Path, *, sparse: bool, progress: bool = True) -> str:
    """Copy ``image`` to the start of ``target``; returns the sha256 of what was read.

    ``sparse`` (a freshly emptied file) skips blocks of zeros; a block
    device gets every block, since its old contents are not zeros.
    """
    digest = hashlib.sha256()
    total = image.stat().st_size
    zero = bytes(CHUNK)
    fd = os.open(target, os.O_WRONLY)
    try:
        with open(image, "rb") as source, _bar("write ", total, progress) as advance:
            offset = 0
            while block := source.read(CHUNK):
                digest.update(block)
                if not (sparse and block == zero[: len(block)]):
                    os.pwrite(fd, block, offset)
                offset += len(block)
                advance(len(block))
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return digest.hexdigest()


def read_back(target: Path, length: int, *, progress: bool = True) -> str:
    """sha256 of the first ``length`` bytes of ``target``, read from the disk (cache dropped first)."""
    digest = hashlib.sha256()
    fd = os.open(target, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, length, os.POSIX_FADV_DONTNEED)
        with _bar("verify", length, progress) as advance:
            offset = 0
            while offset < length:
                block = os.pread(fd, min(CHUNK, length - offset), offset)
                if not block:
                    raise FlashError(f"{target} ended after {offset} bytes while reading back {length}")
                digest.update(block)
                offset += len(block)
                advance(len(block))
    finally:
        os.close(fd)
    return digest.hexdigest()


# ----- the partition table and the seed -----


def partition_table(target: Path) -> dict[str, object]:
    done = subprocess.run(["sfdisk", "-J", str(target)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise FlashError(f"sfdisk cannot read the partition table on {target}: {done.stderr.strip()}")
    table: dict[str, object] = json.loads(done.stdout)["partitiontable"]
    return table


def seed_gap(table: dict[str, object]) -> tuple[int, int]:
    """(first LBA, sectors) of the free space between the GPT entries and the first partition."""
    if table.get("label") != "gpt" or table.get("sectorsize", SECTOR) != SECTOR:
        raise FlashError("the image must carry a GPT with 512-byte sectors")
    partitions = table.get("partitions") or []
    assert isinstance(partitions, list)
    first = min((int(p["start"]) for p in partitions), default=2048)
    start = GPT_ENTRIES_END_LBA + 1
    if first - start < MIN_SEED_SECTORS:
        raise FlashError(f"no room for the seed before the first partition (it starts at LBA {first})")
    return start, first - start


def add_seed_partition(target: Path, seed_image: Path, start: int, sectors: int) -> None:
    """Relocate the backup GPT to the disk's end, add partition CIDATA at ``start``, write the seed into it."""
    argv = ["sfdisk", "--quiet", "--relocate", "gpt-bak-std", str(target)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise FlashError(f"{' '.join(argv)} failed: {done.stderr.strip()}")
    dump = subprocess.run(["sfdisk", "--dump", str(target)], capture_output=True, text=True, check=True).stdout
    lines = [f"first-lba: {start}" if line.startswith("first-lba:") else line for line in dump.splitlines()]
    lines.append(f'start={start}, size={sectors}, type={BASIC_DATA}, name="{SEED_LABEL}"')
    done = subprocess.run(
        ["sfdisk", "--quiet", "--no-reread", str(target)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise FlashError(f"sfdisk could not add the seed partition: {done.stderr.strip()}")
    data = seed_image.read_bytes()
    if len(data) > sectors * SECTOR:
        raise FlashError(f"the seed ({len(data)} bytes) does not fit its partition ({sectors * SECTOR} bytes)")
    fd = os.open(target, os.O_WRONLY)
    try:
        os.pwrite(fd, data, start * SECTOR)
        os.fsync(fd)
    finally:
        os.close(fd)
    if stat.S_ISBLK(os.stat(target).st_mode):
        subprocess.run(["partx", "--update", str(target)], capture_output=True, check=False)  # new partition nodes


# ----- the whole flow -----


def check_target(
    target: Path, image_bytes: int, size: int | None, proc_mounts: str | None = None, sys_block: Path = Path("/sys/block")
) -> tuple[bool, int]:
    """(is a block device, the size it will have); refuses what must not be written."""
    mounts = proc_mounts if proc_mounts is not None else Path("/proc/mounts").read_text()
    name = block_name(target)
    if name is not None:
        disk = disk_of(name)
        if disk != name:
            raise FlashError(f"{target} is a partition of /dev/{disk}; flash the whole disk")
        reason = device_in_use(disk, mounts, sys_block)
        if reason:
            raise FlashError(reason)
        have = device_size(target)
        if have < image_bytes:
            raise FlashError(f"{target} has {have} bytes, the image needs {image_bytes}")
        return True, have
    if target.exists() and not target.is_file():
        raise FlashError(f"{target} is neither a block device nor a regular file")
    if target.exists():
        reason = file_in_use(target, sys_block)
        if reason:
            raise FlashError(reason)
    have = target.stat().st_size if target.exists() else 0
    want = max(have, size or 0)
    if want < image_bytes:
        if size is not None:
            grown = f" (and {target} has {human_size(have)})" if have > size else ""
            raise FlashError(
                f"--size {human_size(size)} is smaller than the image ({human_size(image_bytes)}){grown}: "
                f"give at least --size {human_size(image_bytes, up=True)}"
            )
        what = f"{target} has {human_size(have)}" if target.exists() else f"{target} does not exist"
        raise FlashError(
            f"{what} and the image needs {human_size(image_bytes)}: pass --size (e.g. --size 8G) to create or grow the disk file"
        )
    return False, want


def human_size(n: int, up: bool = False) -> str:
    """Bytes as --size takes them: the largest binary unit that states ``n`` exactly, else bytes.

    ``up``: round up to a whole unit instead (a size that is at least ``n``).
    """
    for unit, factor in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= factor and (up or n % factor == 0):
            return f"{-(-n // factor)}{unit}"
    return f"{n} bytes"


def flash(
    image: Path,
    target: Path,
    identity: HostIdentity,
    *,
    manifest: Path | None = None,
    assume_yes: bool,
    progress: bool = True,
    size: int | None = None,
    ask: Ask = ask_on_terminal,
) -> FlashReport:
    """Write ``image`` to ``target``, verify it, relocate the backup GPT and add the identity seed.

    ``size`` (bytes) creates or grows a disk *file* target (never a device,
    never shrinks). ``ask`` is called with the question unless ``assume_yes``.
    """
    record = image_record(image, manifest)
    image_bytes = image.stat().st_size
    if image_bytes != record["size"]:
        raise FlashError(f"{image} has {image_bytes} bytes, its manifest says {record['size']}: not the image that was built")
    is_device, target_bytes = check_target(target, image_bytes, size)
    if not assume_yes:
        existing = "everything on " if is_device or target.exists() else ""
        if not ask(f"Overwrite {existing}{target} with {image.name} for {identity.hostname}?"):
            raise FlashError("not confirmed; nothing was written")
    if not is_device:
        # A fresh, sparse file of the wanted size: its zeros need not be written.
        with open(target, "wb") as handle:
            handle.truncate(target_bytes)

    started = time.monotonic()
    written = write_image(image, target, sparse=not is_device, progress=progress)
    write_seconds = time.monotonic() - started
    if written != record["sha256"]:
        raise FlashError(f"{image} does not match the sha256 in its manifest (read {written}): damaged or altered; not seeding")
    started = time.monotonic()
    back = read_back(target, image_bytes, progress=progress)
    verify_seconds = time.monotonic() - started
    if back != record["sha256"]:
        raise FlashError(f"read back from {target}, the image's bytes differ from what was written (sha256 {back})")

    start, sectors = seed_gap(partition_table(target))
    with tempfile.TemporaryDirectory(prefix="february-flash-") as tmp:
        seed = write_seed_vfat(Path(tmp) / "seed.vfat", identity, size_kib=sectors * SECTOR // 1024)
        add_seed_partition(target, seed, start, sectors)
    return FlashReport(
        target=target,
        image_bytes=image_bytes,
        target_bytes=target_bytes,
        sha256=back,
        write_seconds=write_seconds,
        verify_seconds=verify_seconds,
        seed_start_lba=start,
        seed_sectors=sectors,
    )

"""Look inside a raw disk image without mounting it: sfdisk, debugfs and a byte scan."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class Partition:
    name: str
    offset: int  # bytes from the start of the disk
    size: int  # bytes


def partitions(raw: Path) -> dict[str, Partition]:
    """The GPT partitions of ``raw`` by name, from ``sfdisk --json``."""
    table = json.loads(subprocess.run(["sfdisk", "--json", str(raw)], capture_output=True, text=True, check=True).stdout)
    sector = table["partitiontable"].get("sectorsize", 512)
    return {
        part.get("name", part["node"]): Partition(part.get("name", part["node"]), part["start"] * sector, part["size"] * sector)
        for part in table["partitiontable"]["partitions"]
    }


def _data_extents(fd: int, start: int, end: int) -> Iterable[tuple[int, int]]:
    """(offset, length) of the allocated parts of [start, end) of a sparse file."""
    pos = start
    while pos < end:
        try:
            data = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError:  # ENXIO: only a hole remains
            return
        if data >= end:
            return
        hole = min(os.lseek(fd, data, os.SEEK_HOLE), end)
        yield data, hole - data
        pos = hole


def extract_and_scan(raw: Path, part: Partition, dest: Path, needles: dict[str, bytes]) -> dict[str, int]:
    """Copy the partition out of ``raw`` into ``dest`` (sparse) and count each needle in its bytes.

    Only allocated extents are read (holes are zeros and can hold nothing);
    a chunk keeps the tail of the previous one, so a needle that straddles a
    chunk boundary is still found.
    """
    counts = dict.fromkeys(needles, 0)
    overlap = max((len(n) for n in needles.values()), default=1) - 1
    with open(raw, "rb") as src, open(dest, "wb") as out:
        out.truncate(part.size)
        fd = src.fileno()
        for offset, length in _data_extents(fd, part.offset, part.offset + part.size):
            tail = b""
            done = 0
            while done < length:
                src.seek(offset + done)
                block = src.read(min(CHUNK, length - done))
                out.seek(offset + done - part.offset)
                out.write(block)
                window = tail + block
                for name, needle in needles.items():
                    # Count only matches that end inside this block (the tail was counted before).
                    counts[name] += window.count(needle) - tail.count(needle)
                tail = window[-overlap:] if overlap else b""
                done += len(block)
    return counts


class Ext4Image:
    """Read-only questions to an ext4 filesystem image, answered by debugfs."""

    def __init__(self, image: Path) -> None:
        self.image = image

    def _run(self, request: str) -> str:
        done = subprocess.run(["debugfs", "-R", request, str(self.image)], capture_output=True, text=True, check=True)
        if "Bad magic number" in done.stderr or "Filesystem not open" in done.stderr:
            raise RuntimeError(f"debugfs could not open {self.image}: {done.stderr.strip()}")
        return done.stdout + done.stderr

    def exists(self, path: str) -> bool:
        out = self._run(f"stat {path}")
        return "File not found" not in out

    def listdir(self, path: str) -> dict[str, int]:
        """Entry name -> size, for a directory (``ls -p``); empty if it does not exist."""
        entries: dict[str, int] = {}
        for line in self._run(f"ls -p {path}").splitlines():
            # /inode/mode/uid/gid/name/size/
            fields = line.split("/")
            if len(fields) >= 7 and fields[5] not in (".", ".."):
                entries[fields[5]] = int(fields[6]) if fields[6].isdigit() else 0
        return entries

    def read(self, path: str) -> bytes:
        done = subprocess.run(["debugfs", "-R", f"cat {path}", str(self.image)], capture_output=True, check=True)
        if b"File not found" in done.stderr:
            raise FileNotFoundError(path)
        return done.stdout

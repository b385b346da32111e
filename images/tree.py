"""A root tree's content as data: what each path is, without its times (a disk gets those from the epoch)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path


def tree_listing(root: Path) -> dict[str, str]:
    """Each path under ``root`` (relative, "/" first) -> its type, mode, owner, and a file's sha256 or a link's target."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in [*dirs, *sorted(files)]:
            path = Path(folder) / name
            st = path.lstat()
            what = f"{stat.S_IFMT(st.st_mode):o} {stat.S_IMODE(st.st_mode):04o} {st.st_uid}:{st.st_gid}"
            if stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256()
                with path.open("rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        digest.update(chunk)
                what += f" {digest.hexdigest()}"
            elif stat.S_ISLNK(st.st_mode):
                what += f" -> {os.readlink(path)}"
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                what += f" {os.major(st.st_rdev)},{os.minor(st.st_rdev)}"
            found["/" + str(path.relative_to(root))] = what
    return found


def tree_digest(listing: dict[str, str]) -> str:
    """One sha256 for a whole listing."""
    digest = hashlib.sha256()
    for path in sorted(listing):
        digest.update(f"{path}\t{listing[path]}\n".encode())
    return digest.hexdigest()

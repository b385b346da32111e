"""Build the native base layer's root twice from the same inputs and name every path that differs.

    .venv/bin/python bench/base_twice.py [--keep DIR]

mmdebstrap runs twice (about two minutes each here), into two folders; then
each tree is listed (path, type, mode, owner, and a file's sha256 or a
link's target; times left out: the disk assembly sets every inode's times to
the epoch) and the two listings are compared. Prints the build times, the
digest of each listing and the differing paths (exit 1 when there are any).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from images.base_layer import BaseLayer, build_root
from images.tree import tree_digest, tree_listing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build into this folder and keep both roots")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="base-twice-", dir="/var/tmp"))
    layer = BaseLayer()
    listings = []
    try:
        for name in ("first", "second"):
            began = time.monotonic()
            root = folder / name
            build_root(layer, root)
            listing = tree_listing(root)
            listings.append(listing)
            print(f"{name}: {time.monotonic() - began:.0f} s, {len(listing)} paths, digest {tree_digest(listing)}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    first, second = listings
    differing = sorted(path for path in first.keys() | second.keys() if first.get(path) != second.get(path))
    for path in differing:
        print(f"differs: {path}: {first.get(path)} | {second.get(path)}")
    print(f"{len(differing)} path(s) differ")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())

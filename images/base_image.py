"""Build (or reuse) the cached base image of an OS release: package layer plus bootable disk."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from images.base_layer import BaseLayer, archive_releases, build_root, installed_packages, pins, versions
from images.disk import DEFAULT_EPOCH, make_disk, to_qcow2
from images.manifest import write_manifest
from images.mounts import remove_build_folder


def cache_root() -> Path:
    """Where built images are kept: $FEBRUARY_CACHE, else ~/.cache/february."""
    return Path(os.environ.get("FEBRUARY_CACHE", Path.home() / ".cache" / "february"))


# The build machine's tools that made the layer and the disk (their packages: Debian 12 or Ubuntu 24.04).
TOOL_PACKAGES = ("mmdebstrap", "apt", "dpkg", "e2fsprogs", "dosfstools", "mtools", "fdisk", "grub-common", "grub-efi-amd64-bin")


def build_tools(packages: tuple[str, ...] = TOOL_PACKAGES) -> dict[str, str]:
    """Each tool package's installed version on this machine ("missing" when it is not)."""
    done = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}\t${Version}\n", *packages], capture_output=True, text=True, check=False
    )
    found = dict(line.split("\t", 1) for line in done.stdout.splitlines() if "\t" in line)
    return {name: found.get(name) or "missing" for name in packages}


def base_image(layer: BaseLayer | None = None, on_line: Callable[[str], None] | None = None) -> Path:
    """Return the base image's qcow2 path, building it only when its inputs changed.

    The image lives in a folder named by the hash of its inputs, written under
    a temporary name and renamed into place when complete, so an interrupted
    build never leaves a half image that a later run would trust.
    """
    layer = layer or BaseLayer()
    key = layer.cache_key()
    final = cache_root() / "base" / key[:16]
    qcow2 = final / "disk.qcow2"
    if qcow2.exists():
        return qcow2
    final.parent.mkdir(parents=True, exist_ok=True)
    # One build per key at a time: a second caller waits, then finds it built.
    with open(final.parent / f"{key[:16]}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not qcow2.exists():
            _build(layer, key, final, on_line)
    return qcow2


def _build(layer: BaseLayer, key: str, final: Path, on_line: Callable[[str], None] | None) -> None:
    """Build the layer's image into ``final`` (through a .partial folder renamed at the end)."""
    work = final.with_name(final.name + ".partial")
    remove_build_folder(work)
    work.mkdir(parents=True)
    started = time.monotonic()
    root = work / "root"
    build_root(layer, root, on_line=on_line, releases=work / "releases")
    packages = installed_packages(root)
    releases = archive_releases(work / "releases")
    raw = work / "disk.raw"
    # Its ids from the inputs' hash, its own times the fixed epoch: the same tree gives the same disk.
    make_disk(root, raw, on_line=on_line, seed=key, epoch=DEFAULT_EPOCH)
    to_qcow2(raw, work / "disk.qcow2")
    raw.unlink()
    shutil.rmtree(root)
    write_manifest(
        work,
        {
            "cache_key": key,
            "os": layer.release.name,
            "suite": layer.release.suite,
            "mirrors": list(layer.release.mirrors),
            "archive_key": layer.release.key_fingerprint,
            "packages": list(layer.packages),
            "installed_versions": versions(packages),
            "pinned": pins(packages),
            "archive_releases": releases,
            "build_tools": build_tools(),
            "disk": {"seed": key, "epoch": DEFAULT_EPOCH},
            "build_seconds": round(time.monotonic() - started, 1),
        },
    )
    shutil.rmtree(final, ignore_errors=True)
    work.rename(final)

"""Rspamd's compiled Hyperscan databases, kept on this machine for the next lab VM.

At its first start Rspamd compiles its multipattern databases (9628 TLD
suffixes among them) and its regexp cache with Hyperscan and keeps them in
Rspamd's folder (``layout.RSPAMD_DIR``) as ``<hash>.hsmp`` and ``<hash>.hs``, the hash taken over
the patterns *and* the CPU platform.
Under TCG that compile took 3-4 minutes, and a converge waits for it (the
milter listens only afterwards). Every lab VM runs the same QEMU CPU model,
so what one VM compiled is valid for the next: the databases are copied out
after a converge and into a fresh VM before its first one. A database made
for another CPU or another pattern set has another name and is not used.
A real host never gets these: it compiles its own, at hardware speed.
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
from pathlib import Path

from february.remote import as_root, ssh_argv
from images.base_image import cache_root
from pyinfra_deploys.layout import RSPAMD_DIR, RSPAMD_USER
from pyinfra_deploys.settings.inventory import InventoryHost


def cache_dir() -> Path:
    return cache_root() / "rspamd-hs"


def push(host: InventoryHost) -> int:
    """Put the kept databases into the VM's Rspamd folder (before Rspamd first starts); returns how many."""
    files = sorted(path for path in cache_dir().glob("*.hs*") if path.is_file())
    if not files:
        return 0
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for path in files:
            tar.add(path, arcname=path.name)
    unpack = f"tar -C {RSPAMD_DIR} --no-same-owner -xf - && chown {RSPAMD_USER}:{RSPAMD_USER} {RSPAMD_DIR}/*.hs*"
    _remote(host, unpack, archive.getvalue())
    return len(files)


# The databases' names: a hex hash, then .hs or .hsmp (and .unser beside some); a .tmp is unfinished.
NAME = re.compile(r"[0-9a-f]{16,128}\.hs(mp)?(\.unser)?")


def pull(host: InventoryHost) -> int:
    """Keep the databases the VM's Rspamd compiled (finished ones only); returns how many it has.

    A name is a hash of the patterns and the CPU platform, so a name already
    kept here is the same database: only new names are copied (all of them,
    83 MB, took a lab VM's emulated CPU some 20 s to pack and encrypt).
    """
    listing = f"cd {RSPAMD_DIR} && find . -maxdepth 1 -name '*.hs*' ! -name '*.tmp' -printf '%f\\n'"
    names = [n for n in _remote(host, listing).decode().split() if NAME.fullmatch(n)]
    target = cache_dir()
    new = [name for name in names if not (target / name).is_file()]
    if not new:
        return len(names)
    packed = _remote(host, f"cd {RSPAMD_DIR} && tar cf - {' '.join(new)}")
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name in new]
        tar.extractall(target, members=members, filter="data")
    return len(names)


def _remote(host: InventoryHost, command: str, stdin: bytes | None = None) -> bytes:
    """``command`` as root on the VM, ``stdin`` fed to it; its stdout."""
    return subprocess.run([*ssh_argv(host), as_root(host, command)], input=stdin, check=True, capture_output=True).stdout

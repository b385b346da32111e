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

When the cache is empty (a fresh machine, CI), ``compile_natively`` fills it
before the first lab VM needs it: the OS's own rspamd package, unpacked on
this machine, runs in a chroot with no network for some 15 s and compiles
the same databases at native speed (the 40 MB URL-suffix one took 122 s of
the VM's first Rspamd start). On this machine's AMD EPYC, Hyperscan sees the
platform the VMs' ``-cpu max`` shows (tune "generic", AVX2), so the names
and bytes are the VM's own; on a CPU it sees otherwise (an Intel tune,
AVX-512) the names differ, the VM finds none of its names and compiles
them itself, as before.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from february.paths import REPO
from february.process import terminate_group
from february.remote import as_root, ssh_argv
from images import oses
from images.base_image import cache_root
from images.base_layer import extract_root
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


# What the native run unpacks, and the line its main process logs once the hs_helper has compiled everything.
NATIVE_PACKAGES = ["rspamd"]
NATIVE_READY = "received hyperscan cache loaded"
NATIVE_TIMEOUT = 300  # seconds for Rspamd to compile; 16 s here
# The chroot's own files: localhost for Rspamd's default bind lines, a resolver nobody can reach (no network),
# every log line on the console (its output, kept in a file of the work folder).
CHROOT_FILES = {
    "etc/hosts": "127.0.0.1 localhost\n::1 localhost\n",
    "etc/resolv.conf": "nameserver 127.0.0.1\n",
    "etc/rspamd/local.d/logging.inc": 'type = "console";\nlevel = "info";\n',
}


def holds_databases() -> bool:
    """Whether the cache holds any database (the VMs keep it up to date from there)."""
    return any(cache_dir().glob("*.hs*"))


def compile_natively(release: oses.OsRelease = oses.DEFAULT) -> int:
    """Fill an empty cache with the databases ``release``'s Rspamd compiles on this machine; returns how many it kept.

    A cache that holds any database is left alone (0): the VMs keep it up to date.
    Rspamd runs as root in a chroot of its unpacked package, in a network
    namespace of its own (``unshare --net``: not even the loopback is up), with
    the package's stock configuration; it is stopped once its main process
    logs that the compiled databases are loaded.
    """
    if holds_databases():
        return 0
    target = cache_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rspamd-native-", dir=target.parent) as work:
        root = Path(work) / "root"
        extract_root(release, NATIVE_PACKAGES, root)
        _prepare_chroot(root)
        log = Path(work) / "rspamd.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                ["unshare", "--net", "chroot", str(root), "rspamd", "-f", "-i", "-u", "root", "-g", "root"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_for_line(process, log, NATIVE_READY, NATIVE_TIMEOUT)
        finally:
            terminate_group(process, timeout=30)
        compiled = root / RSPAMD_DIR.lstrip("/")
        names = [path.name for path in compiled.iterdir() if NAME.fullmatch(path.name) and path.is_file()]
        target.mkdir(exist_ok=True)
        for name in names:
            shutil.copyfile(compiled / name, target / name)
        return len(names)


def _prepare_chroot(root: Path) -> None:
    """What an unpacked, unconfigured root lacks for Rspamd to start."""
    if not (root / "lib64").exists() and (root / "usr" / "lib64").is_dir():
        (root / "lib64").symlink_to("usr/lib64")  # the ELF interpreter's path (a merged-/usr symlink no package ships)
    for folder in ("run/rspamd", "var/log/rspamd", RSPAMD_DIR.lstrip("/")):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for relative, text in CHROOT_FILES.items():
        (root / relative).write_text(text)


def _wait_for_line(process: subprocess.Popen[bytes], log: Path, line: str, timeout: float) -> None:
    """Return once ``log`` holds ``line``; a RuntimeError with the log's end if the process ends or ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while line not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            what = (
                f"ended with exit status {process.returncode}" if process.returncode is not None else f"took over {timeout:.0f} s"
            )
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"the native Rspamd run {what} before it logged {line!r}:\n{tail}")
        time.sleep(0.5)


def start_native(log: Path) -> subprocess.Popen[bytes] | None:
    """``compile_natively`` in a process of its own, its output in ``log`` (beside a VM's boot); None when the cache holds databases."""
    if holds_databases():
        return None
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "february.vm.rspamd_cache"],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def finish_native(process: subprocess.Popen[bytes] | None, log: Path) -> str:
    """Wait for ``start_native``'s process; what it did, in a line. Its failure is no error: the VM compiles its own."""
    if process is None:
        return "the cache holds databases already"
    status = process.wait()
    lines = log.read_text(errors="replace").strip().splitlines() or ["no output"]
    if status != 0:
        return f"failed (exit status {status}; {log}), so the VM compiles its own: {lines[-1]}"
    return lines[-1]


def main() -> int:
    began = time.monotonic()
    kept = compile_natively()
    print(f"{kept} databases compiled on this machine in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Watch, as an unprivileged user on the host, every place a secret passes while a converge runs.

The script runs on the VM (``python3 -c``, stdlib only) as ``nobody``. It is
driven by inotify, so it costs nothing between events: a loop that read the
files over and over kept a vCPU busy under emulation and slowed the converge
it watched. Each time a file matching a pattern is created, written, moved in
or has its mode changed, the watcher opens it at once and writes what it
could read to its output; a folder it cannot enter is noted as closed.

Output lines: ``event <path>`` for each event on a watched path, ``read <path>``
followed by the content for each successful read, ``closed <path>`` for a folder
nobody may watch. It stops when ``<stop>`` is created.
"""

from __future__ import annotations

import shlex

WATCH_SCRIPT = r"""
import ctypes, fnmatch, os, struct, sys
patterns, stop, out = sys.argv[1].split(), sys.argv[2], open(sys.argv[3], "w", buffering=1)
libc = ctypes.CDLL(None, use_errno=True)
MASK = 0x2 | 0x4 | 0x8 | 0x80 | 0x100  # MODIFY ATTRIB CLOSE_WRITE MOVED_TO CREATE
ISDIR = 0x40000000
fd = libc.inotify_init1(0)
folders = {}

def chain(pattern):
    parts, found = pattern.strip("/").split("/")[:-1], []
    for n in range(1, len(parts) + 1):
        found.append("/" + "/".join(parts[:n]))
    return found

wanted = {folder for pattern in patterns for folder in chain(pattern)}

def watch(path):
    wd = libc.inotify_add_watch(fd, path.encode(), MASK)
    if wd < 0:
        if ctypes.get_errno() == 13:
            out.write(f"closed {path}\n")
        return
    folders[wd] = path

def wants_folder(path):
    return any(fnmatch.fnmatch(path, folder) for folder in wanted)

for folder in sorted(wanted):
    if "*" not in folder and os.path.isdir(folder):
        watch(folder)
for folder in sorted(wanted):
    if "*" in folder:
        parent = os.path.dirname(folder)
        for name in os.listdir(parent) if os.path.isdir(parent) else []:
            if fnmatch.fnmatch(os.path.join(parent, name), folder):
                watch(os.path.join(parent, name))
out.write("ready\n")
while True:
    data, at = os.read(fd, 65536), 0
    while at < len(data):
        wd, mask, _, size = struct.unpack_from("iIII", data, at)
        name = data[at + 16 : at + 16 + size].rstrip(b"\0").decode()
        at += 16 + size
        path = os.path.join(folders.get(wd, "?"), name)
        if path == stop:
            sys.exit(0)
        if mask & ISDIR:
            if wants_folder(path):
                watch(path)
            continue
        if not any(fnmatch.fnmatch(path, pattern) for pattern in patterns):
            continue
        out.write(f"event {path}\n")
        try:
            with open(path, "rb") as handle:
                content = handle.read()
        except OSError:
            continue
        out.write(f"read {path}\n{content.decode(errors='replace')}\n")
"""


def watcher_command(patterns: list[str], stop: str, out: str) -> str:
    """A shell command that starts the watcher as ``nobody`` in the background and returns once it is watching."""
    argv = " ".join(shlex.quote(arg) for arg in ("python3", "-c", WATCH_SCRIPT, " ".join(patterns), stop, out))
    return (
        f"rm -f {out} {stop}; nohup runuser -u nobody -- {argv} >/dev/null 2>&1 & "
        f"for n in $(seq 100); do grep -qx ready {out} 2>/dev/null && exit 0; sleep 0.2; done; exit 1"
    )

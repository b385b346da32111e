"""
The deploy's placed files as they are now, in one command: mode, owner, group and SHA-256 of each.

pyinfra's ``files.template`` and ``files.put`` ask two facts per file (``File``
and ``Sha1File``): two commands over SSH for a file that needs nothing, about
0.75 s each under emulation, and a February host has about fifty such files.
``operations.placed`` asks this fact once for every file the deploy places,
then skips each file that is already as wanted.

It also names the paths that are missing from a folder that exists: a file
that ``operations.placed`` can upload straight away, without pyinfra's
``files.put`` asking again whether the file and its folder exist.

The fact also reports whether every package the deploy installs is there:
when one is missing, its installation may still write a file observed here,
so the observation must not be trusted (``trusted`` is False).

.. code:: python

    from pyinfra_deploys.facts.placed import PlacedFiles
"""

from __future__ import annotations

import shlex
from typing import NamedTuple, TypedDict

from pyinfra.api import FactBase
from typing_extensions import override

from pyinfra_deploys.layout import STAMP


class FileState(NamedTuple):
    mode: int
    user: str
    group: str
    sha256: str


class FolderState(NamedTuple):
    mode: int
    user: str
    group: str


class PlacedFilesValue(TypedDict):
    files: dict[str, FileState]  # regular files only: a missing path or a symlink is left out
    folders: dict[str, FolderState]  # folders (not a symlink to one)
    missing: set[str]  # nothing at the path (not even a dangling symlink), its folder a folder
    trusted: bool  # every package given is installed


class PlacedFiles(FactBase[PlacedFilesValue]):
    """Each regular file among ``paths`` (mode, owner, group, SHA-256), each folder (mode, owner, group), the missing ones,
    and whether all ``packages`` are installed."""

    @override
    def command(self, paths: tuple[str, ...], packages: tuple[str, ...], stamped: bool = False) -> str:
        quoted = " ".join(shlex.quote(path) for path in paths)
        names = " ".join(shlex.quote(name) for name in packages)
        # ``stamped``: with them, every path the last converge managed or saw present, and every package
        # it installed (its stamp's "path", "present" and "package" lines): the deploy's files are
        # observed in this one command, not one command per file declared, and trusted only while
        # every package that could write one of them is installed.
        listed, stamped_names = "", ""
        if stamped:
            listed = f"$(sed -n 's/^path //p; s/^present //p' {STAMP} 2>/dev/null | sort -u)"
            stamped_names = f"$(sed -n 's/^package //p' {STAMP} 2>/dev/null | sort -u)"
        check = ""
        if names or stamped_names:
            check = (
                f'for n in {names} {stamped_names}; do echo "wants $n"; done; '
                f"dpkg-query -W -f 'package ${{db:Status-Abbrev}}${{Package}}\\n' {names} {stamped_names} 2>/dev/null; "
            )
        return (
            f'set --; for p in {quoted} {listed}; do if [ -f "$p" ] && [ ! -L "$p" ]; then set -- "$@" "$p"; '
            'elif [ -d "$p" ] && [ ! -L "$p" ]; then stat -c \'folder %a %U %G %n\' "$p"; '
            'elif [ ! -e "$p" ] && [ ! -L "$p" ] && [ -d "${p%/*}" ] && [ ! -L "${p%/*}" ]; then echo "missing $p"; fi; done; '
            'if [ $# -gt 0 ]; then stat -c \'stat %a %U %G %n\' "$@"; sha256sum "$@"; fi; '
            f"{check}echo 'observed'"
        )

    @override
    def process(self, output: list[str]) -> PlacedFilesValue:
        stats: dict[str, tuple[int, str, str]] = {}
        sums: dict[str, str] = {}
        missing: set[str] = set()
        folders: dict[str, FolderState] = {}
        installed: set[str] = set()
        wanted: set[str] = set()
        complete = False
        for line in output:
            if line.startswith("stat "):
                _, mode, user, group, path = line.split(" ", 4)
                stats[path] = (int(mode, 8), user, group)
            elif line.startswith("folder "):
                _, mode, user, group, path = line.split(" ", 4)
                folders[path] = FolderState(int(mode, 8), user, group)
            elif line.startswith("missing "):
                missing.add(line.removeprefix("missing "))
            elif line.startswith("package "):
                fields = line.split()
                if len(fields) == 3 and fields[1] == "ii":
                    installed.add(fields[2])
            elif line.startswith("wants "):
                wanted.add(line.removeprefix("wants ").strip())
            elif line == "observed":
                complete = True
            elif "  " in line:
                digest, path = line.split("  ", 1)
                sums[path] = digest
        files = {path: FileState(*stats[path], sums[path]) for path in stats if path in sums}
        return {"files": files, "folders": folders, "missing": missing, "trusted": complete and wanted <= installed}

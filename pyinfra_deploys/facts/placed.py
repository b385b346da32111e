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


class PlacedFilesValue(TypedDict):
    files: dict[str, FileState]  # regular files only: a missing path or a symlink is left out
    missing: set[str]  # nothing at the path (not even a dangling symlink), its folder a folder
    trusted: bool  # every package given is installed


class PlacedFiles(FactBase[PlacedFilesValue]):
    """Each regular file among ``paths`` (mode, owner, group, SHA-256), the missing ones, and whether all ``packages`` are installed."""

    @override
    def command(self, paths: tuple[str, ...], packages: tuple[str, ...], stamped: bool = False) -> str:
        quoted = " ".join(shlex.quote(path) for path in paths)
        check = ""
        if packages:
            names = " ".join(shlex.quote(name) for name in packages)
            check = f"dpkg-query -W -f 'package ${{db:Status-Abbrev}}${{Package}}\\n' {names} 2>/dev/null; "
        # ``stamped``: with them, every path the last converge managed (its stamp's "path P" lines):
        # the deploy's files are observed in this one command, not one command per file declared.
        listed = f"$(sed -n 's/^path //p' {STAMP} 2>/dev/null | sort -u)" if stamped else ""
        return (
            f'set --; for p in {quoted} {listed}; do if [ -f "$p" ] && [ ! -L "$p" ]; then set -- "$@" "$p"; '
            'elif [ ! -e "$p" ] && [ ! -L "$p" ] && [ -d "${p%/*}" ] && [ ! -L "${p%/*}" ]; then echo "missing $p"; fi; done; '
            'if [ $# -gt 0 ]; then stat -c \'stat %a %U %G %n\' "$@"; sha256sum "$@"; fi; '
            f"{check}echo 'packages {len(packages)}'"
        )

    @override
    def process(self, output: list[str]) -> PlacedFilesValue:
        stats: dict[str, tuple[int, str, str]] = {}
        sums: dict[str, str] = {}
        missing: set[str] = set()
        installed = 0
        wanted = -1
        for line in output:
            if line.startswith("stat "):
                _, mode, user, group, path = line.split(" ", 4)
                stats[path] = (int(mode, 8), user, group)
            elif line.startswith("missing "):
                missing.add(line.removeprefix("missing "))
            elif line.startswith("package "):
                installed += line.split()[1] == "ii"
            elif line.startswith("packages "):
                wanted = int(line.split()[1])
            elif "  " in line:
                digest, path = line.split("  ", 1)
                sums[path] = digest
        files = {path: FileState(*stats[path], sums[path]) for path in stats if path in sums}
        return {"files": files, "missing": missing, "trusted": installed == wanted}

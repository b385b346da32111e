"""
Place a file unless the host already has it exactly so: one observation for all of the deploy's files.

A file whose content, mode, owner and group are already the wanted ones costs
no command at all. A file observed missing (its folder there) or different is
uploaded, then given its owner and mode in one command: pyinfra's
``files.put`` would first ask again, in three commands, whether the file and
its folder exist (about 0.6 s a file under emulation). Anything else (a
symlink, a missing folder, an untrusted observation) and every ``--diff`` run
(`february diff` shows the unified diff) hand over to ``files.put`` itself. A template arrives rendered
(``place.render``, checked by ``rendered.check_rendered``): what is uploaded is
exactly what was checked, as pyinfra's own ``files.template`` uploads its
rendering through ``files.put``. What the host has is read once, by the first of these
operations to be declared, for every file placed so far (``register``) and every
file the last converge managed (its stamp lists them): on a converged host that
is every file of the deploy, in one command (``facts.placed``).

The observation is taken before any of these files is written, and only one
operation writes each file. It is not trusted when a package the deploy
installs is missing: installing it may write one of these files.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Generator
from io import StringIO
from pathlib import Path
from typing import Any, Literal

from pyinfra import host
from pyinfra import state as pyinfra_state
from pyinfra.api import FileUploadCommand, OperationError, QuoteString, StringCommand, operation
from pyinfra.operations import files

from pyinfra_deploys.facts.placed import FileState, PlacedFiles
from pyinfra_deploys.stamp import managed

MISSING: Literal["missing"] = "missing"
Observed = FileState | Literal["missing"] | None

# Per host: the paths these operations place, and what was observed of them (None: unknown or not trusted).
_placed: dict[str, list[str]] = {}
_observed: dict[str, dict[str, Observed]] = {}
_twice: dict[str, set[str]] = {}


def register(dest: str) -> None:
    """Declare (while the deploy's operations are declared) that ``dest`` is placed by one of these operations.

    A path placed twice in one run is never skipped: the first write would make the observation stale.
    """
    paths = _placed.setdefault(host.name, [])
    if dest in paths:
        _twice.setdefault(host.name, set()).add(dest)
    else:
        paths.append(dest)


def registered() -> list[str]:
    """The paths registered so far for the current host, in order."""
    return list(_placed.get(host.name, []))


def observed(dest: str) -> Observed:
    """``dest`` as it was before this run wrote any placed file: its state, MISSING (its folder there), or
    None when it is something else (a symlink, a folder, in a missing folder) or the observation is not trusted."""
    if dest in _twice.get(host.name, set()):
        return None
    seen = _observed.setdefault(host.name, {})
    if dest not in seen:
        unseen = tuple(path for path in _placed.get(host.name, []) if path not in seen) or (dest,)
        fact = host.get_fact(PlacedFiles, paths=unseen, packages=tuple(sorted(managed("package"))), stamped=True)
        for path in unseen:
            if not fact["trusted"]:
                seen[path] = None
            elif path in fact["files"]:
                seen[path] = fact["files"][path]
            else:
                seen[path] = MISSING if path in fact["missing"] else None
        if fact["trusted"]:
            # The last converge's other files came along: placed later in this run, they need no command.
            seen.update({path: state for path, state in fact["files"].items() if path not in seen})
            seen.update({path: MISSING for path in fact["missing"] if path not in seen})
    return seen[dest]


def is_as_wanted(dest: str, content: bytes, mode: str, user: str, group: str) -> bool:
    wanted = FileState(int(mode, 8), user, group, hashlib.sha256(content).hexdigest())
    return observed(dest) == wanted


MODE = re.compile(r"[0-7]{3,4}")


@operation()
def put(src: str | StringIO, dest: str, mode: str, user: str, group: str) -> Generator[Any, None, None]:
    """``files.put`` of ``src`` (a local path, or a rendered text) to ``dest``."""
    if not MODE.fullmatch(mode):
        raise OperationError(f"mode must be 3 or 4 octal digits, got {mode!r}")
    content = src.getvalue().encode() if isinstance(src, StringIO) else Path(src).read_bytes()
    if is_as_wanted(dest, content, mode, user, group):
        host.noop(f"{dest} is as wanted")
        return
    if observed(dest) is None or pyinfra_state.config.DIFF:
        yield from files.put._inner(src=src, dest=dest, mode=mode, user=user, group=group)
        return
    # Written beside, given its owner and mode, then renamed over: a deploy stopped
    # halfway never leaves a half-written file where a daemon reads it.
    partial = partial_path(dest)
    yield FileUploadCommand(src, partial, remote_temp_filename=host.get_temp_filename(dest))
    yield StringCommand(
        "chown", QuoteString(f"{user}:{group}"), QuoteString(partial), "&&", "chmod", mode, QuoteString(partial),
        "&&", "mv", "-f", QuoteString(partial), QuoteString(dest),
    )  # fmt: skip


def partial_path(dest: str) -> str:
    """Where a new version of ``dest`` is written before it is renamed over it (same folder: the rename is atomic)."""
    folder, _, name = dest.rpartition("/")
    return f"{folder}/.{name}.february-new"

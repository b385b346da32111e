"""
Place a file unless the host already has it exactly so: one observation for all of the deploy's files.

A file whose content, mode, owner and group are already the wanted ones costs
no command at all. A file observed missing (its folder there) or different is
uploaded, then given its owner and mode in one command: pyinfra's
``files.put`` would first ask again, in three commands, whether the file and
its folder exist (about 0.6 s a file under emulation). Anything else (a
symlink, a missing folder, an untrusted observation) hands over to ``files.put``
itself. Under ``--diff`` (`february diff`) the change is logged as ``files.put``
logs it, the old text the only thing asked of the host. A template arrives rendered
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

from pyinfra import host, logger
from pyinfra import state as pyinfra_state
from pyinfra.api import FileUploadCommand, OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.files import File, FileContents
from pyinfra.operations import files
from pyinfra.operations.util.files import generate_color_diff

from pyinfra_deploys.facts.placed import FileState, FolderState, PlacedFiles
from pyinfra_deploys.stamp import managed

MISSING: Literal["missing"] = "missing"
Observed = FileState | FolderState | Literal["missing"] | None

# Per host: the paths these operations place, and what was observed of them (None: unknown or not trusted).
_placed: dict[str, list[str]] = {}
_watched: dict[str, list[str]] = {}  # observed too, not placed by ``put``: folders, secrets, paths a command makes
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


def watch(path: str) -> None:
    """Declare that ``path`` is observed with the placed files (a folder, a secret, a file a command makes)."""
    paths = _watched.setdefault(host.name, [])
    if path not in paths:
        paths.append(path)


def registered() -> list[str]:
    """The paths registered so far for the current host, in order."""
    return list(_placed.get(host.name, []))


def observed(dest: str) -> Observed:
    """``dest`` as it was before this run wrote any placed file: a file's or a folder's state, MISSING (its
    folder there), or None when it is something else (a symlink, in a missing folder) or the observation is
    not trusted."""
    if dest in _twice.get(host.name, set()):
        return None
    seen = _observed.setdefault(host.name, {})
    if dest not in seen:
        declared = [*_placed.get(host.name, []), *_watched.get(host.name, []), dest]
        unseen = tuple(dict.fromkeys(path for path in declared if path not in seen))
        # The last converge's paths come with the first observation only: later ones ask for what is new.
        fact = host.get_fact(PlacedFiles, paths=unseen, packages=tuple(sorted(managed("package"))), stamped=not seen)
        for path in unseen:
            if not fact["trusted"]:
                seen[path] = None
            elif path in fact["files"]:
                seen[path] = fact["files"][path]
            elif path in fact["folders"]:
                seen[path] = fact["folders"][path]
            else:
                seen[path] = MISSING if path in fact["missing"] else None
        if fact["trusted"]:
            # The last converge's other files came along: placed later in this run, they need no command.
            seen.update({path: state for path, state in fact["files"].items() if path not in seen})
            seen.update({path: state for path, state in fact["folders"].items() if path not in seen})
            seen.update({path: MISSING for path in fact["missing"] if path not in seen})
    return seen[dest]


def exists(path: str) -> bool:
    """Whether something is at ``path`` (observed with the placed files; pyinfra's ``File`` fact when unknown)."""
    watch(path)
    state = observed(path)
    if state is None:
        return bool(host.get_fact(File, path=path))
    return state != MISSING


def is_as_wanted(dest: str, content: bytes, mode: str, user: str, group: str) -> bool:
    wanted = FileState(int(mode, 8), user, group, hashlib.sha256(content).hexdigest())
    return observed(dest) == wanted


MODE = re.compile(r"[0-7]{3,4}")
UPLOAD_STAGE = "/tmp"


@operation()
def put(src: str | StringIO, dest: str, mode: str, user: str, group: str) -> Generator[Any, None, None]:
    """``files.put`` of ``src`` (a local path, or a rendered text) to ``dest``."""
    if not MODE.fullmatch(mode):
        raise OperationError(f"mode must be 3 or 4 octal digits, got {mode!r}")
    content = src.getvalue().encode() if isinstance(src, StringIO) else Path(src).read_bytes()
    if is_as_wanted(dest, content, mode, user, group):
        host.noop(f"{dest} is as wanted")
        return
    state = observed(dest)
    if not isinstance(state, FileState) and state != MISSING:
        yield from files.put._inner(src=src, dest=dest, mode=mode, user=user, group=group)
        return
    if pyinfra_state.config.DIFF:
        show_diff(dest, content, state)
    # Written beside, given its owner and mode, then renamed over: a deploy stopped
    # halfway never leaves a half-written file where a daemon reads it.
    partial = partial_path(dest)
    # A sudo upload is staged in /tmp (public configuration; secrets go through operations.secret's
    # private folder): named here, pyinfra need not ask the host for its temporary folder first.
    yield FileUploadCommand(src, partial, remote_temp_filename=host.get_temp_filename(dest, temp_directory=UPLOAD_STAGE))
    yield move_in(partial, dest, mode, user, group)


def move_in(partial: str, dest: str, mode: str, user: str, group: str) -> StringCommand:
    """One command: the uploaded ``partial`` given its owner and mode, then renamed over ``dest``."""
    return StringCommand(
        "chown", QuoteString(f"{user}:{group}"), QuoteString(partial), "&&", "chmod", mode, QuoteString(partial),
        "&&", "mv", "-f", QuoteString(partial), QuoteString(dest),
    )  # fmt: skip


def show_diff(dest: str, content: bytes, state: FileState | Literal["missing"]) -> None:
    """Log the change as pyinfra's ``files.put`` does under ``--diff`` (``february diff`` reads it), asking only the old text."""
    old: list[str] = []
    if isinstance(state, FileState):
        if state.sha256 == hashlib.sha256(content).hexdigest():
            host.log(f"Will modify {dest} (mode or owner only)", logger.info)
            logger.info("")
            return
        old = [line + "\n" for line in host.get_fact(FileContents, path=dest) or []]
    host.log(f"Will {'modify' if isinstance(state, FileState) else 'create'} {dest}", logger.info)
    try:
        new = content.decode().splitlines(keepends=True)
    except UnicodeDecodeError:
        logger.info("  Binary file uploaded")
    else:
        for line in generate_color_diff(old, new):
            logger.info("  %s", line)
    logger.info("")


PARTIAL_SUFFIX = ".february-new"


def partial_path(dest: str) -> str:
    """Where a new version of ``dest`` is written before it is renamed over it (same folder: the rename is atomic)."""
    folder, _, name = dest.rpartition("/")
    return f"{folder}/.{name}{PARTIAL_SUFFIX}"


@operation()
def folder(path: str, mode: str, user: str, group: str | None = None) -> Generator[Any, None, None]:
    """``files.directory`` of ``path``, no command when the observation shows it as wanted (``group`` None: any group)."""
    if not MODE.fullmatch(mode):
        raise OperationError(f"mode must be 3 or 4 octal digits, got {mode!r}")
    watch(path)
    state = observed(path)
    if state == MISSING:
        owner = ["-o", QuoteString(user)] + (["-g", QuoteString(group)] if group else [])
        yield StringCommand("install", "-d", "-m", mode, *owner, QuoteString(path))
        return
    if not isinstance(state, FolderState):
        yield from files.directory._inner(path=path, mode=mode, user=user, group=group)
        return
    mode_ok = state.mode == int(mode, 8)
    owner_ok = state.user == user and group in (None, state.group)
    if mode_ok and owner_ok:
        host.noop(f"folder {path} is as wanted")
    if not mode_ok:
        yield StringCommand("chmod", mode, QuoteString(path))
    if not owner_ok:
        yield StringCommand("chown", QuoteString(f"{user}:{group}" if group else user), QuoteString(path))


@operation()
def removed(path: str) -> Generator[Any, None, None]:
    """``files.file(present=False)`` of ``path``, no command when the observation shows nothing there."""
    watch(path)
    state = observed(path)
    if state == MISSING:
        host.noop(f"{path} is not there")
        return
    if isinstance(state, FileState):
        yield StringCommand("rm", "-f", QuoteString(path))
        return
    yield from files.file._inner(path=path, present=False)

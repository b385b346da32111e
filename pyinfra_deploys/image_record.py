"""The record of the files the image phase placed (the golden image manifest's ``image_phase``).

The bake's last operation (pyinfra_deploys/phases.py) writes it on the build
VM; the image pipeline reads it into the manifest, and a test takes the same
record of a flashed host. It is the deploy's own observation of placed files
(facts.placed.PlacedFiles). A module of its own, so that the pipeline reads
records without importing the roles.
"""

from __future__ import annotations

import hashlib
import shlex
from typing import Any

from pyinfra_deploys import layout
from pyinfra_deploys.facts.placed import PlacedFiles


def record_command(paths: list[str], record: str = layout.IMAGE_PHASE_RECORD) -> str:
    """Shell: the deploy's own observation of ``paths`` (facts.placed.PlacedFiles: each regular file's mode,
    owner and SHA-256), written to ``record``; read back with ``parse_record``."""
    new = shlex.quote(f"{record}.new")
    return f"umask 022 && {{ {PlacedFiles().command(tuple(paths), ())}; }} > {new} && mv {new} {shlex.quote(record)}"


def parse_record(text: str) -> dict[str, Any]:
    """A record of ``record_command``: its digest, and per file its sha256, mode (octal) and owner.

    The digest is the SHA-256 of one "sha256 mode user group path" line per file, sorted by path.
    """
    files = {
        path: {"sha256": state.sha256, "mode": f"{state.mode:o}", "user": state.user, "group": state.group}
        for path, state in sorted(PlacedFiles().process(text.splitlines())["files"].items())
    }
    lines = "".join(f"{f['sha256']} {f['mode']} {f['user']} {f['group']} {path}\n" for path, f in files.items())
    return {"digest": hashlib.sha256(lines.encode()).hexdigest(), "files": files}

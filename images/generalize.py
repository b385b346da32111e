"""generalize.sh's February paths, from ``pyinfra_deploys.layout``.

The script cannot import Python, so its callers hand it the paths in its
environment, from this one place:

- the base layer's mmdebstrap customize hook (``generalize_hook``) sets them
  before the script on the hook's command line;
- the Packer bake reads them from Packer's own environment (``packer_env``
  adds ``generalize_env``; variables.pkr.hcl takes them with ``env()``) and
  passes them to the provisioner with ``environment_vars``.

Without them the script refuses to run (exit 2), so a caller that forgets
them cannot make an image that still holds a host's secrets.
"""

from __future__ import annotations

import posixpath
import shlex
from pathlib import Path

from pyinfra_deploys import layout

GENERALIZE = Path(__file__).resolve().parent / "generalize.sh"


def _words(paths: tuple[str, ...]) -> str:
    """The paths as the script's word list (it splits on blanks): absolute, without blanks or shell characters."""
    for path in paths:
        if not path.startswith("/") or path == "/" or posixpath.normpath(path) != path or shlex.quote(path) != path:
            raise ValueError(f"generalize.sh cannot take {path!r}: an absolute path of plain characters only")
    return " ".join(paths)


def generalize_env() -> dict[str, str]:
    """The environment generalize.sh needs: the folders it empties, the paths it removes, the files it checks."""
    return {
        "FEBRUARY_EMPTIED": _words(layout.IMAGE_EMPTIED),
        "FEBRUARY_REMOVED": _words(layout.IMAGE_REMOVED),
        "FEBRUARY_NO_HASHES": _words(layout.IMAGE_NO_HASHES),
    }


def generalize_hook() -> str:
    """mmdebstrap's customize hook (run with ``sh -c``, the root as ``$1``): the script on that root, with its paths."""
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in generalize_env().items())
    return f'{assignments} sh {shlex.quote(str(GENERALIZE))} "$1"'

"""Upload a file whose content is a secret, without ever printing it.

``files.template`` and ``files.put`` print the whole new content, and with it
the old content read back from the host (the ``FileContents`` fact), when
pyinfra runs with ``--diff``. For /etc/postfix/sasl_passwd (the relay
password) and /etc/dovecot/users (the mailbox hashes) that would put secrets
in a terminal or a CI log. ``put`` here compares checksums only (the
``Sha1File`` fact, as ``files.put`` does) and, with ``--diff``, says that the
file changes but not how. A file the one observation of the placed files
(``operations.placed``) shows as wanted costs no command. The upload itself is pyinfra's own
``FileUploadCommand`` (printed at ``-vv`` as its repr: object and path, no
content).
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from io import StringIO
from typing import Any

from pyinfra import host, logger, state
from pyinfra.api import FileUploadCommand, QuoteString, StringCommand, operation
from pyinfra.api.util import get_file_sha1
from pyinfra.facts.files import File, Sha1File
from pyinfra.operations.util import files as file_utils

from pyinfra_deploys.facts.placed import FileState
from pyinfra_deploys.operations import placed
from pyinfra_deploys.operations.placed import partial_path


@operation()
def put(
    content: str, dest: str, mode: str = "600", user: str = "root", group: str = "root", stage: str | None = None
) -> Generator[Any, None, None]:
    """Upload ``content`` to ``dest`` (owner, group, mode) when it differs; never show the content.

    + content: the file's text (a secret)
    + dest: remote path
    + mode, user, group: as for files.put
    + stage: a folder only the SSH user can read, for a sudo upload's staging copy
      (pyinfra's default, /tmp/pyinfra-<sha1>, is made with the user's umask: 0644)

    The new content goes into an empty file beside ``dest``, made first with its
    final owner and mode (the copy that follows lands in a file nobody else can
    read: cp keeps the mode of a file it writes into), then renamed over ``dest``.
    """
    placed.watch(dest)
    if placed.is_as_wanted(dest, content.encode(), mode, user, group):
        host.noop(f"{dest} is as wanted (secret)")
        return
    seen = placed.observed(dest)
    if isinstance(seen, FileState) or seen == placed.MISSING:
        # The one observation already says how it differs: no command to ask again.
        now = seen if isinstance(seen, FileState) else None
        differs = now is None or now.sha256 != hashlib.sha256(content.encode()).hexdigest()
    else:
        remote = host.get_fact(File, path=dest)
        # pyinfra's File fact gives the mode as its octal digits read as decimal (600 for rw-------).
        now = FileState(int(str(remote["mode"]), 8), remote["user"], remote["group"], "") if remote else None
        differs = now is None or host.get_fact(Sha1File, path=dest) != get_file_sha1(StringIO(content))
    if differs:
        if state.config.DIFF:
            host.log(f"Will {'modify' if now else 'create'} {dest} (secret content not shown)", logger.info)
        # An empty file beside with the final owner and mode first; the content lands in it,
        # and it is renamed over ``dest``: never readable by others, never half-written where read.
        partial = partial_path(dest)
        yield StringCommand("install", "-m", mode, "-o", user, "-g", group, "/dev/null", QuoteString(partial))
        temp = host.get_temp_filename(dest, temp_directory=stage)
        yield FileUploadCommand(StringIO(content), partial, remote_temp_filename=temp)
        yield placed.move_in(partial, dest, mode, user, group)
        return
    assert now is not None
    if now.mode != int(mode, 8):
        yield file_utils.chmod(dest, mode)
    if now.user != user or now.group != group:
        yield file_utils.chown(dest, user, group)

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

from collections.abc import Generator
from io import StringIO
from typing import Any

from pyinfra import host, logger, state
from pyinfra.api import FileUploadCommand, QuoteString, StringCommand, operation
from pyinfra.api.util import get_file_sha1
from pyinfra.facts.files import File, Sha1File
from pyinfra.operations.util import files as file_utils

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
    remote = host.get_fact(File, path=dest)
    if not remote or host.get_fact(Sha1File, path=dest) != get_file_sha1(StringIO(content)):
        if state.config.DIFF:
            host.log(f"Will {'modify' if remote else 'create'} {dest} (secret content not shown)", logger.info)
        # An empty file beside with the final owner and mode first; the content lands in it,
        # and it is renamed over ``dest``: never readable by others, never half-written where read.
        partial = partial_path(dest)
        yield StringCommand("install", "-m", mode, "-o", user, "-g", group, "/dev/null", QuoteString(partial))
        temp = host.get_temp_filename(dest, temp_directory=stage)
        yield FileUploadCommand(StringIO(content), partial, remote_temp_filename=temp)
        yield file_utils.chown(partial, user, group)
        yield file_utils.chmod(partial, mode)
        yield StringCommand("mv", "-f", QuoteString(partial), QuoteString(dest))
        return
    if remote["mode"] != file_utils.ensure_mode_int(mode):
        yield file_utils.chmod(dest, mode)
    if remote["user"] != user or remote["group"] != group:
        yield file_utils.chown(dest, user, group)

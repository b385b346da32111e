"""Upload a file whose content is a secret, without ever printing it.

``files.template`` and ``files.put`` print the whole new content, and with it
the old content read back from the host (the ``FileContents`` fact), when
pyinfra runs with ``--diff``. For /etc/postfix/sasl_passwd (the relay
password) and /etc/dovecot/users (the mailbox hashes) that would put secrets
in a terminal or a CI log. ``put`` here compares checksums only (the
``Sha1File`` fact, as ``files.put`` does) and, with ``--diff``, says that the
file changes but not how. The upload itself is pyinfra's own
``FileUploadCommand`` (printed at ``-vv`` as its repr: object and path, no
content).
"""

from __future__ import annotations

from collections.abc import Generator
from io import StringIO
from typing import Any

from pyinfra import host, logger, state
from pyinfra.api import FileUploadCommand, operation
from pyinfra.api.util import get_file_sha1
from pyinfra.facts.files import File, Sha1File
from pyinfra.operations.util import files as file_utils


@operation()
def put(content: str, dest: str, mode: str = "600", user: str = "root", group: str = "root") -> Generator[Any, None, None]:
    """Upload ``content`` to ``dest`` (owner, group, mode) when it differs; never show the content.

    + content: the file's text (a secret)
    + dest: remote path
    + mode, user, group: as for files.put
    """
    remote = host.get_fact(File, path=dest)
    if not remote or host.get_fact(Sha1File, path=dest) != get_file_sha1(StringIO(content)):
        if state.config.DIFF:
            host.log(f"Will {'modify' if remote else 'create'} {dest} (secret content not shown)", logger.info)
        yield FileUploadCommand(StringIO(content), dest, remote_temp_filename=host.get_temp_filename(dest))
        yield file_utils.chown(dest, user, group)
        yield file_utils.chmod(dest, mode)
        return
    if remote["mode"] != file_utils.ensure_mode_int(mode):
        yield file_utils.chmod(dest, mode)
    if remote["user"] != user or remote["group"] != group:
        yield file_utils.chown(dest, user, group)

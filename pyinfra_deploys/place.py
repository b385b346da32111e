"""The one way the roles put things on the host; each registers with the converge stamp by itself.

- ``place``: a template from files/ at its target path (``/etc/postfix/main.cf``
  comes from ``files/etc/postfix/main.cf.j2``), or the plain file there;
- ``place_own``: one of our scripts verbatim, or a text we wrote;
- ``place_file``: a file of the site (its certificate, a relay's CA);
- ``place_secret``: a secret, never shown;
- ``seed``: a file the service keeps, given its first content once;
- ``folder``: a folder with its mode and owner;
- ``exists``: whether a path a command makes is there yet (the command then runs or not);
- ``absent``: a path the settings turned off.

Each is observed with every other in one command (``operations.placed``), so
a path that is already as wanted costs no command. Roles never call
``pyinfra.operations.files`` (tests/unit/test_place_rule.py).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.api.util import get_template

from pyinfra_deploys import layout
from pyinfra_deploys.facts.placed import FileState
from pyinfra_deploys.operations import placed
from pyinfra_deploys.operations import secret as secret_file
from pyinfra_deploys.rendered import check_rendered
from pyinfra_deploys.repo import REPO
from pyinfra_deploys.stamp import manage_path, manage_presence

FILES = REPO / "files"


def template_for(dest: str) -> Path:
    """The template behind a target path; a plain file when there is no .j2."""
    source = FILES / dest.lstrip("/")
    templated = source.with_name(source.name + ".j2")
    return templated if templated.exists() else source


def jinja_options() -> dict[str, Any]:
    """Block tags take their whole line, so loops leave no blank lines (a fresh dict: pyinfra pops from it)."""
    return {"trim_blocks": True, "lstrip_blocks": True}


def render(dest: str, template: str | None = None, **context: Any) -> str:
    """Render a target path's template exactly as ``place`` does, without a host (for tests and checks)."""
    return get_template(str(template_for(template or dest)), jinja_options()).render(**with_layout(context))


def with_layout(context: dict[str, Any]) -> dict[str, Any]:
    """Every template sees ``layout`` (pyinfra_deploys/layout.py): paths on the host are spelled there only."""
    return {"layout": layout, **context}


def place(
    dest: str,
    mode: str = "644",
    user: str = "root",
    group: str = "root",
    template: str | None = None,
    secret: bool = False,
    **context: Any,
) -> OperationMeta:
    """Render ``files/<dest>.j2`` (or copy ``files/<dest>``) to ``dest``.

    ``template`` names another target path's template when several files
    share one (e.g. one "module disabled" file for several Rspamd modules).
    The rendered text is checked against its template first
    (``pyinfra_deploys.rendered``): a file with an extra, duplicated or
    unknown parameter fails the deploy before anything is uploaded.
    ``secret`` files (the relay password, the mailbox hashes) are uploaded
    without ever showing their content, also not with ``--diff``.
    """
    source = template_for(template or dest)
    text = render(dest, template, **context) if source.suffix == ".j2" else None
    if text is not None:
        check_rendered(dest, text, source)
    if not secret:
        manage_path(dest)
    if secret:
        assert text is not None, f"a secret file is rendered from a template: {source}"
        return place_secret(dest, text, mode=mode, user=user, group=group)
    placed.register(dest)
    src: str | io.StringIO = str(source) if text is None else io.StringIO(text)
    return placed.put(name=f"Place {dest}", src=src, dest=dest, mode=mode, user=user, group=group)


def place_own(dest: str, source: Path | None = None, text: str | None = None) -> OperationMeta:
    """One of the deploy's own files, root's: a script of ours uploaded verbatim (``source``, 755) or JSON it wrote (``text``, 644)."""
    manage_path(dest)
    placed.register(dest)
    src: str | io.StringIO = str(source) if source is not None else io.StringIO(text or "")
    mode = "755" if source is not None else "644"
    return placed.put(name=f"Place {dest}", src=src, dest=dest, mode=mode, user="root", group="root")


def place_file(dest: str, source: Path, mode: str = "644", user: str = "root", group: str = "root") -> OperationMeta:
    """A local file of the site's (its certificate and key, a relay's CA), copied verbatim."""
    manage_path(dest)
    placed.register(dest)
    return placed.put(name=f"Place {dest}", src=str(source), dest=dest, mode=mode, user=user, group=group)


def folder(path: str, mode: str = "755", user: str = "root", group: str = "root", name: str | None = None) -> OperationMeta:
    """A folder with its mode and owner (made with its parents when missing)."""
    manage_path(path)
    return placed.folder(name=name or f"Folder {path}", path=path, mode=mode, user=user, group=group)


def seed(dest: str, text: str, user: str, group: str, mode: str = "644", name: str | None = None) -> OperationMeta | None:
    """A file the service keeps afterwards (e.g. counters it saves), given ``text`` once when it is missing."""
    manage_presence(dest)
    if exists(dest):
        host.noop(f"{dest} exists: the service's own")
        return None
    placed.register(dest)
    return placed.put(name=name or f"First {dest}", src=io.StringIO(text), dest=dest, mode=mode, user=user, group=group)


def had_text(path: str, text: str) -> bool:
    """Whether ``path`` held exactly ``text`` before this run (a file placed by this module, so observed)."""
    state = placed.observed(path)
    return isinstance(state, FileState) and state.sha256 == hashlib.sha256(text.encode()).hexdigest()


def exists(path: str) -> bool:
    """Whether ``path`` is there now (before this run changes anything): for a file a command makes once."""
    return placed.exists(path)


def absent(path: str, name: str | None = None) -> OperationMeta:
    """Remove ``path`` (a file the settings turned off); the stamp sees it stay away."""
    manage_path(path)
    return placed.removed(name=name or f"Remove {path}", path=path)


def staging_dir() -> str | None:
    """A private (0700) folder of the SSH user for uploads that sudo moves into place.

    pyinfra stages a ``_sudo`` upload as /tmp/pyinfra-<sha1> with the SSH
    user's umask (0644): a secret would be readable by every local user
    until it is moved. Staged here instead, nobody else can read it.
    """
    user = host.data.get("ssh_user")
    if not host.data.get("_sudo") or not user or user == "root":
        return None
    return layout.staging_dir(user)


def place_secret(dest: str, content: str, mode: str = "600", user: str = "root", group: str = "root") -> OperationMeta:
    """Upload a secret so that no other user can read it at any moment, and never print it.

    ``operations.secret.put`` makes the destination with its final owner and
    mode before the content arrives and shows no content, ``--diff``
    included; a sudo upload is staged in the SSH user's private folder.
    """
    manage_path(dest)
    stage = staging_dir()
    if stage is not None:
        manage_path(stage)
        placed.folder(name="Private staging folder for secrets", path=stage, user=host.data.get("ssh_user"), mode="700")
    return secret_file.put(
        name=f"Place {dest} (secret)", content=content, dest=dest, mode=mode, user=user, group=group, stage=stage
    )

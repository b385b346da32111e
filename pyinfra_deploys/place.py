"""Place a template from files/ at its target path, named uniformly.

Templates live under ``files/`` at the path they are written to, plus
``.j2``: ``/etc/postfix/main.cf`` comes from ``files/etc/postfix/main.cf.j2``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from pyinfra import host
from pyinfra.api.operation import OperationMeta
from pyinfra.api.util import get_template
from pyinfra.operations import files

from pyinfra_deploys.stamp import manage_path

FILES = Path(__file__).resolve().parent.parent / "files"


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
    return get_template(str(template_for(template or dest)), jinja_options()).render(**context)


def place(
    dest: str, mode: str = "644", user: str = "root", group: str = "root", template: str | None = None, **context: Any
) -> OperationMeta:
    """Render ``files/<dest>.j2`` (or copy ``files/<dest>``) to ``dest``.

    ``template`` names another target path's template when several files
    share one (e.g. one "module disabled" file for several Rspamd modules).
    """
    source = template_for(template or dest)
    manage_path(dest)
    if source.suffix == ".j2":
        return files.template(
            name=f"Place {dest}",
            src=str(source),
            dest=dest,
            mode=mode,
            user=user,
            group=group,
            jinja_env_kwargs=jinja_options(),
            **context,
        )
    return files.put(name=f"Place {dest}", src=str(source), dest=dest, mode=mode, user=user, group=group)


def staging_dir() -> str | None:
    """A private (0700) folder of the SSH user for uploads that sudo moves into place.

    pyinfra stages a ``_sudo`` upload as /tmp/pyinfra-<sha1> with the SSH
    user's umask (0644): a secret would be readable by every local user
    until it is moved. Staged here instead, nobody else can read it.
    """
    user = host.data.get("ssh_user")
    if not host.data.get("_sudo") or not user or user == "root":
        return None
    return f"/var/tmp/february-stage-{user}"


def place_secret(dest: str, content: str, mode: str = "600", user: str = "root", group: str = "root") -> OperationMeta:
    """Upload a secret so that no other user can read it at any moment.

    The destination exists with its final owner and mode before the content
    arrives (an upload copies into it and keeps that mode); a sudo upload is
    staged in the SSH user's private folder. The content goes up from memory,
    never through a template, so pyinfra has no source to diff or print.
    """
    manage_path(dest)
    stage = staging_dir()
    if stage is not None:
        files.directory(name="Private staging folder for secrets", path=stage, user=host.data.get("ssh_user"), mode="700")
    files.file(name=f"{dest} exists, owner-only, before its content", path=dest, user=user, group=group, mode=mode)
    extra = {"_temp_dir": stage} if stage is not None else {}
    return files.put(
        name=f"Place {dest}", src=io.StringIO(content), dest=dest, user=user, group=group, mode=mode, **extra
    )

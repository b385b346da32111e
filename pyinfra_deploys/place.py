"""Place a template from files/ at its target path, named uniformly.

Templates live under ``files/`` at the path they are written to, plus
``.j2``: ``/etc/postfix/main.cf`` comes from ``files/etc/postfix/main.cf.j2``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyinfra.api.operation import OperationMeta
from pyinfra.api.util import get_template
from pyinfra.operations import files

from pyinfra_deploys.operations import secret as secret_file
from pyinfra_deploys.rendered import check_rendered
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
    manage_path(dest)
    if secret:
        assert text is not None, f"a secret file is rendered from a template: {source}"
        return secret_file.put(name=f"Place {dest} (secret)", content=text, dest=dest, mode=mode, user=user, group=group)
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

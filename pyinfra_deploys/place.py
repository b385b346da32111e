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

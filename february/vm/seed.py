"""The cloud-init NoCloud seed: a `cidata` ISO with user-data and meta-data."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jinja2

from february.paths import REPO
from images.seed import meta_data

TEMPLATES = REPO / "images" / "cloud-init"


def render_user_data(hostname: str, ssh_keys: list[str], resolv_conf: str | None = None) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return env.get_template("user-data.j2").render(hostname=hostname, ssh_keys=ssh_keys, resolv_conf=resolv_conf)


def write_seed(path: Path, hostname: str, ssh_keys: list[str], resolv_conf: str | None = None) -> None:
    """Write the seed ISO (volume label `cidata`) at ``path``; a new instance-id each time."""
    work = path.parent / "seed"
    work.mkdir(parents=True, exist_ok=True)
    user_data = work / "user-data"
    meta = work / "meta-data"
    user_data.write_text(render_user_data(hostname, ssh_keys, resolv_conf))
    meta.write_text(meta_data(hostname))
    subprocess.run(["cloud-localds", path, user_data, meta], check=True)

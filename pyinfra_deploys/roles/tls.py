"""TLS: the certificate and key at the seed's paths, shared by Postfix and Dovecot."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.files import File
from pyinfra.operations import files, server

from pyinfra_deploys import layout
from pyinfra_deploys.settings.host import baking, current
from pyinfra_deploys.settings.load import settings_base_dir
from pyinfra_deploys.stamp import manage_path

CERT = layout.TLS_CERT
KEY = layout.TLS_KEY


@deploy("February TLS")
def tls() -> list[OperationMeta]:
    """Place or create the certificate; returns the operations that may change it."""
    s = current()
    manage_path(layout.TLS_DIR)
    files.directory(name="TLS directory", path=layout.TLS_DIR, mode="755", user="root", group="root")
    if baking():
        host.noop("no TLS key in an image: made or placed at the first converge")
        return []
    manage_path(CERT, KEY)
    if s.tls.source == "files":
        assert s.tls.cert_file is not None and s.tls.key_file is not None
        base = settings_base_dir()
        return [
            files.put(name=f"Place {CERT}", src=str(base / s.tls.cert_file), dest=CERT, mode="644"),
            files.put(name=f"Place {KEY}", src=str(base / s.tls.key_file), dest=KEY, mode="600"),
        ]
    # Self-signed: made once on the host; the key never leaves it.
    if host.get_fact(File, path=KEY):
        host.noop(f"{KEY} already exists")
        return []
    subject = shlex.quote(f"/CN={s.hostname}")
    san = shlex.quote(f"subjectAltName=DNS:{s.hostname}")
    return [
        server.shell(
            name="Create a self-signed certificate",
            commands=[
                f"umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj {subject} "
                f"-addext {san} -keyout {KEY} -out {CERT} 2>/dev/null && chmod 644 {CERT}"
            ],
        )
    ]

"""TLS: the certificate and key at the seed's paths, shared by Postfix and Dovecot."""

from __future__ import annotations

import secrets
import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.operation import OperationMeta
from pyinfra.facts.server import Command
from pyinfra.operations import server

from pyinfra_deploys import layout
from pyinfra_deploys.place import exists, folder, place_file
from pyinfra_deploys.settings.host import current
from pyinfra_deploys.settings.load import settings_base_dir
from pyinfra_deploys.stamp import manage_path, manage_presence

CERT = layout.TLS_CERT
KEY = layout.TLS_KEY
# A converge renews the self-signed certificate this close to its end.
RENEW_DAYS = 30


def random_serial() -> str:
    """A random positive serial of 16 bytes (the top bit clear, so it is never read as negative)."""
    return f"0x{secrets.randbits(127) | 1 << 120:032x}"


def self_signed_command(hostname: str, days: int, new_key: bool) -> str:
    """openssl req for a self-signed certificate: SAN, a random serial, ``days`` of life.

    ``new_key`` makes the key as well; otherwise the certificate is renewed
    with the host's key (a self-signed certificate is trusted by its
    fingerprint or not at all, so a new key would gain nothing).
    """
    subject = shlex.quote(f"/CN={hostname}")
    san = shlex.quote(f"subjectAltName=DNS:{hostname}")
    key = f"-newkey rsa:2048 -nodes -keyout {KEY}" if new_key else f"-key {KEY}"
    return (
        f"umask 077 && openssl req -x509 {key} -days {days} -set_serial {random_serial()} -subj {subject} "
        f"-addext {san} -out {CERT}.new 2>/dev/null && chmod 644 {CERT}.new && mv {CERT}.new {CERT}"
    )


@deploy("Image: TLS")
def image_phase() -> None:
    """The certificate's folder; no key in an image: made or placed at the host's first converge."""
    folder(layout.TLS_DIR, mode="755", name="TLS directory")


@deploy("Host: TLS")
def host_phase() -> list[OperationMeta]:
    """Place or create the certificate; returns the operations that may change it."""
    s = current()
    if not s.tls.from_acme:
        manage_path(CERT, KEY)
    else:
        # With ACME, certbot's deploy hook places the certificate (roles/acme.py) and a renewal
        # changes it: the converge observes that the key is there, not what it holds.
        manage_presence(KEY)
    if s.tls.from_files:
        assert s.tls.cert_file is not None and s.tls.key_file is not None
        base = settings_base_dir()
        return [
            place_file(CERT, base / s.tls.cert_file, mode="644"),
            place_file(KEY, base / s.tls.key_file, mode="600"),
        ]
    # Self-signed: made once on the host, renewed with the same key near its end. With ACME,
    # a new host runs on one until certbot's is issued (last in the host phase), then keeps certbot's.
    if not exists(KEY):
        return [
            server.shell(
                name="Create a self-signed certificate",
                commands=[self_signed_command(s.hostname, s.tls.self_signed_days, new_key=True)],
            )
        ]
    if s.tls.from_acme:
        return []
    state = host.get_fact(
        Command,
        command=f"openssl x509 -checkend {RENEW_DAYS * 86400} -noout -in {CERT} >/dev/null 2>&1 && echo valid || echo renew",
    )
    if (state or "").strip() == "valid":
        host.noop(f"{CERT} is valid for more than {RENEW_DAYS} days")
        return []
    return [
        server.shell(
            name="Renew the self-signed certificate",
            commands=[self_signed_command(s.hostname, s.tls.self_signed_days, new_key=False)],
        )
    ]

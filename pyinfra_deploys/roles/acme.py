"""ACME certificates (``tls.source: acme``) with certbot, Ubuntu's package, and a DNS-01 challenge.

certbot rather than lego: its DNS plugins that Ubuntu packages each take one
credentials file, its deploy hook is the documented place to reload services
after a renewal, and its rfc2136 plugin speaks TCP, which the lab's closed
network carries (noble's lego 4.9 asks DNS over UDP only).

Image phase: certbot and its rfc2136 plugin, the script the timer and the
hook run (``files/usr/local/sbin/february-acme.j2``), certbot's own timer off
(ours renews and records the outcome for ``february status``), certbot's
folder (state, backed up; empty in an image).

Host phase, only with ``tls.source: acme``: the credentials (a secret), the
ACME server's CA if the settings give one, the request (certbot's arguments
for this host) and the renewal timer. A first certificate, or a new one when
the request changed, is issued at the end of the host phase, after the
services run on the certificate they had (self-signed on a new host), so a
CA or DNS provider that fails leaves a working host and a failed converge.
Renewal runs daily and renews 30 days before the end (certbot's default); the
deploy hook copies the certificate to the seed's paths and reloads Postfix
and Dovecot.
"""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Command
from pyinfra.operations import server, systemd

from pyinfra_deploys import layout, packages
from pyinfra_deploys.apt import install
from pyinfra_deploys.place import absent, exists, folder, had_text, place, place_own, place_secret
from pyinfra_deploys.service import disabled_and_stopped, enabled_and_running, known_unit_changed
from pyinfra_deploys.settings.host import current, current_secrets
from pyinfra_deploys.settings.model import Acme
from pyinfra_deploys.stamp import manage_presence, manage_service

# The certificate's key: RSA for the widest reach among sending servers.
KEY_ARGS = ("--key-type", "rsa", "--rsa-key-size", "2048")


def plugin_package(plugin: str) -> str:
    return f"python3-certbot-dns-{plugin}"


def request_args(acme: Acme, hostname: str) -> list[str]:
    """certbot certonly's arguments for this host, secrets only by path."""
    plugin = f"dns-{acme.dns_plugin}"
    args = [
        "--agree-tos",
        "--email",
        acme.email,
        "--server",
        acme.server,
        "--cert-name",
        layout.ACME_LINEAGE,
        "--domain",
        hostname,
        *KEY_ARGS,
        "--authenticator",
        plugin,
        f"--{plugin}-credentials",
        layout.ACME_CREDENTIALS,
    ]
    if acme.propagation_seconds is not None:
        args += [f"--{plugin}-propagation-seconds", str(acme.propagation_seconds)]
    # Saved by certbot with the certificate (renew_hook): every renewal runs it.
    return [*args, "--deploy-hook", f"{layout.ACME_SCRIPT} deploy"]


def request_text(acme: Acme, hostname: str) -> str:
    return shlex.join(request_args(acme, hostname)) + "\n"


@deploy("Image: ACME")
def image_phase() -> None:
    install("acme", packages.ACME)
    place(layout.ACME_SCRIPT, mode="755")
    folder(layout.ACME_DIR, mode="755", name="certbot's folder")
    # The package's timer renews without a record; ours (host phase) runs the same renewal and records it.
    disabled_and_stopped("certbot's own timer off", layout.CERTBOT_TIMER)


@deploy("Host: ACME")
def host_phase() -> None:
    s = current()
    acme = s.tls.acme
    if acme is None:
        if exists(layout.ACME_TIMER_FILE):
            disabled_and_stopped("No ACME: timer off", layout.ACME_TIMER)
            absent(layout.ACME_CREDENTIALS)
        return

    if acme.dns_plugin != packages.ACME_IMAGE_PLUGIN:
        install("acme", [plugin_package(acme.dns_plugin)])
    folder(layout.ACME_SETTINGS_DIR, mode="700", name="ACME settings folder")
    secrets = current_secrets()
    assert secrets.acme_credentials is not None  # read_secrets reads every file the settings name
    changes = [place_secret(layout.ACME_CREDENTIALS, secrets.acme_credentials)]
    if secrets.acme_server_ca is not None:
        changes.append(place_own(layout.ACME_SERVER_CA, text=secrets.acme_server_ca))
    else:
        changes.append(absent(layout.ACME_SERVER_CA))
    changes.append(place_own(layout.ACME_REQUEST, text=request_text(acme, s.hostname)))

    units = {path: place(path) for path in (layout.ACME_SERVICE_FILE, layout.ACME_TIMER_FILE)}
    systemd.daemon_reload(name="systemd reads the ACME units", _if=known_unit_changed(units))
    manage_service(layout.ACME_TIMER)
    enabled_and_running("ACME renewal timer", layout.ACME_TIMER)


@deploy("Host: ACME certificate")
def issue() -> None:
    """Issue when the host has no certificate from certbot or the request changed; install one not yet in place.

    Last in the host phase: the services already run on what they had.
    """
    acme = current().tls.acme
    if acme is None:
        return
    # certbot's certificate is state, renewed in place; its presence is what the converge stamp observes,
    # so a host that lost it (restored without it, removed by hand) issues again at the next converge.
    chain = f"{layout.ACME_LIVE}/fullchain.pem"
    manage_presence(chain)
    issue_command = f"{layout.ACME_SCRIPT} issue"
    # One round trip: whether certbot has a certificate and whether it is the one in place.
    state = (
        host.get_fact(
            Command,
            command=f"if ! test -e {chain}; then echo none; elif cmp -s {chain} {layout.TLS_CERT}; then echo installed; "
            "else echo differs; fi",
        )
        or ""
    ).strip()
    if state == "none":
        server.shell(name="Issue the ACME certificate", commands=[issue_command])
        return
    # The request as the last converge left it (this run's new one is placed in the host phase, above).
    if not had_text(layout.ACME_REQUEST, request_text(acme, current().hostname)):
        server.shell(name="Issue the ACME certificate for the new request", commands=[f"{issue_command} --force-renewal"])
        return
    if state != "installed":
        server.shell(name="Install certbot's certificate", commands=[f"{layout.ACME_SCRIPT} deploy"])
    else:
        host.noop(f"{layout.TLS_CERT} is certbot's current certificate")

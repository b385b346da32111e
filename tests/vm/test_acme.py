"""The session VM's certificate comes from an ACME server: certbot against pebble, DNS-01 through the fake DNS.

inventory/group_data/vm.py sets ``tls.source: acme``: the session's first
converge issued the certificate (certbot's rfc2136 plugin adds the challenge
TXT record to the fake DNS with a TSIG-signed update; pebble, on the host's
loopback, checks it there). Here: the chain and the name as a client checks
them with pebble's root as the only trust anchor, on 25, 587 and 993; a
renewal served with no hand step (certbot's deploy hook); a DNS provider that
refuses the update leaves the old certificate in place and turns
`february status` red, until a run that succeeds.
"""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509

from february.vm.world_process import refuse_updates_flag
from february.world.acme import roots
from pyinfra_deploys import layout
from tests.vm.mailvm import MailVm
from tests.vm.test_status import status

HOSTNAME = "mail.example.test"


@pytest.fixture(scope="module")
def pebble_root(mailvm: MailVm) -> str:
    return roots(mailvm.config.acme_management_port, mailvm.config.world_ca)


def verifying(root: str) -> ssl.SSLContext:
    """A client that trusts pebble's root and nothing else, and checks the host name."""
    return ssl.create_default_context(cadata=root)


def served(mailvm: MailVm, service: str, root: str) -> x509.Certificate:
    """The certificate a port presents, after the chain and the name verified against ``root`` (ssl raises otherwise)."""
    config, context = mailvm.config, verifying(root)
    if service == "imaps":
        with (
            socket.create_connection(("127.0.0.1", config.imaps_port), timeout=30) as raw,
            context.wrap_socket(raw, server_hostname=HOSTNAME) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    else:
        port = config.smtp_port if service == "smtp" else config.submission_port
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client._host = HOSTNAME  # type: ignore[attr-defined]  # starttls verifies the name it was given
            client.starttls(context=context)
            assert isinstance(client.sock, ssl.SSLSocket)
            der = client.sock.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def serials(mailvm: MailVm, root: str) -> set[int]:
    return {served(mailvm, service, root).serial_number for service in ("smtp", "submission", "imaps")}


def on_disk(mailvm: MailVm) -> x509.Certificate:
    return x509.load_pem_x509_certificate(mailvm.run(f"cat {layout.TLS_CERT}").stdout.encode())


def renewal(mailvm: MailVm) -> tuple[int, tuple[str, str]]:
    done = status(mailvm, "--json")
    found: list[dict[str, Any]] = json.loads(done.stdout)
    line = next(
        (item["level"], item["message"]) for item in found if (item["section"], item["name"]) == ("Certificate", "renewal")
    )
    return done.returncode, line


@pytest.fixture
def refusing_dns(world_to_itself: None) -> Iterator[None]:
    flag = refuse_updates_flag()
    flag.touch()
    try:
        yield
    finally:
        flag.unlink(missing_ok=True)


def test_25_587_and_993_present_the_acme_certificate_chained_to_pebbles_root(mailvm: MailVm, pebble_root: str) -> None:
    disk = on_disk(mailvm)
    assert serials(mailvm, pebble_root) == {disk.serial_number}
    san = disk.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [HOSTNAME]
    assert "Pebble" in disk.issuer.rfc4514_string()
    # The key on disk is certbot's, owner-only, and the one the certificate carries.
    assert mailvm.host.file(layout.TLS_KEY).mode == 0o600
    assert mailvm.run(f"cmp {layout.ACME_LIVE}/fullchain.pem {layout.TLS_CERT}").returncode == 0
    assert renewal(mailvm)[1][0] == "ok"
    # certbot's own timer is off; ours renews (and records for february status).
    assert mailvm.run(f"systemctl is-enabled {layout.CERTBOT_TIMER}", check=False).stdout.strip() in ("disabled", "masked")
    assert mailvm.run(f"systemctl is-active {layout.ACME_TIMER}").stdout.strip() == "active"


def test_a_renewal_is_served_on_every_port_without_a_hand_step(mailvm: MailVm, pebble_root: str) -> None:
    before = serials(mailvm, pebble_root)
    mailvm.run(f"{layout.ACME_SCRIPT} renew --force-renewal")
    after = serials(mailvm, pebble_root)
    assert len(after) == 1 and after != before
    assert after == {on_disk(mailvm).serial_number}


def test_a_refused_dns_challenge_keeps_the_old_certificate_and_turns_status_red(
    mailvm: MailVm, pebble_root: str, refusing_dns: None
) -> None:
    before = serials(mailvm, pebble_root)
    failed = mailvm.run(f"{layout.ACME_SCRIPT} renew --force-renewal", check=False)
    assert failed.returncode != 0
    assert "REFUSED" in failed.stdout + failed.stderr, failed.stderr[-2000:]
    assert serials(mailvm, pebble_root) == before
    code, (level, message) = renewal(mailvm)
    assert code == 2 and level == "error" and "failed" in message


def test_the_timers_next_run_that_succeeds_clears_the_red_line(mailvm: MailVm, pebble_root: str) -> None:
    mailvm.run(f"systemctl start {layout.ACME_SERVICE}")  # what the timer starts: renews only what is due
    _, (level, _message) = renewal(mailvm)
    assert level == "ok"
    assert serials(mailvm, pebble_root) == {on_disk(mailvm).serial_number}

"""TLS 1.0 and 1.1 are refused on 25, 587 and 993; 1.2 and 1.3 work (check 5)."""

from __future__ import annotations

import smtplib
import socket
import ssl

import pytest

from tests.vm.mailvm import MailVm


def context_for(version: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # OpenSSL 3 refuses TLS < 1.2 at its default security level on the client
    # side too; level 0 lets the client offer it, so a refusal is the server's.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = version
    context.maximum_version = version
    return context


def handshake(mailvm: MailVm, service: str, version: ssl.TLSVersion) -> str:
    """Negotiate exactly ``version`` with the service; return the version agreed."""
    port = getattr(mailvm.config, f"{service}_port")
    if service == "imaps":
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            with context_for(version).wrap_socket(raw) as tls:
                return tls.version() or ""
    with smtplib.SMTP("127.0.0.1", port, local_hostname="client.example.net", timeout=60) as client:
        client.ehlo()
        client.starttls(context=context_for(version))
        assert isinstance(client.sock, ssl.SSLSocket)
        return client.sock.version() or ""


SERVICES = ["smtp", "submission", "imaps"]


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["TLSv1.0", "TLSv1.1"])
def test_old_tls_is_refused(mailvm: MailVm, service: str, version: ssl.TLSVersion) -> None:
    with pytest.raises((ssl.SSLError, smtplib.SMTPServerDisconnected, ConnectionResetError)):
        handshake(mailvm, service, version)


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["TLSv1.2", "TLSv1.3"])
def test_current_tls_works(mailvm: MailVm, service: str, version: ssl.TLSVersion) -> None:
    assert handshake(mailvm, service, version) == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]

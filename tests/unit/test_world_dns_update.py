"""The fake DNS's dynamic updates: what certbot's rfc2136 plugin does for a DNS-01 challenge, signed with TSIG."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from february.world.dns import FakeDns

ZONE = "example.test. 300 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60\n"
KEY_NAME = "february-acme."
CHALLENGE = "_acme-challenge.mail.example.test."


@pytest.fixture
def secret() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def refuse(tmp_path: Path) -> Path:
    return tmp_path / "refuse-updates"


@pytest.fixture
def server(secret: str, refuse: Path) -> Iterator[FakeDns]:
    with FakeDns(ZONE, port=0, tsig_key=(KEY_NAME, secret), refuse_updates=refuse) as running:
        yield running


def update(server: FakeDns, secret: str, action: str, value: str | None = None) -> dns.rcode.Rcode:
    keyring = dns.tsigkeyring.from_text({KEY_NAME: secret})
    message = dns.update.UpdateMessage("example.test.", keyring=keyring, keyalgorithm=dns.tsig.HMAC_SHA512)
    if action == "add":
        message.add(CHALLENGE, 60, "TXT", f'"{value}"')
    elif value is None:
        message.delete(CHALLENGE, "TXT")
    else:
        message.delete(CHALLENGE, "TXT", f'"{value}"')
    # dnspython checks the response's TSIG signature against the request: a bad one raises.
    return dns.query.tcp(message, "127.0.0.1", timeout=5, port=server.port).rcode()


def txt(server: FakeDns) -> list[str]:
    answer = dns.query.udp(dns.message.make_query(CHALLENGE, "TXT"), "127.0.0.1", timeout=5, port=server.port)
    return sorted(b"".join(r.strings).decode() for rrset in answer.answer for r in rrset)


def test_a_signed_update_adds_and_deletes_a_challenge_record(server: FakeDns, secret: str) -> None:
    assert txt(server) == []
    assert update(server, secret, "add", "first") == dns.rcode.NOERROR
    assert update(server, secret, "add", "second") == dns.rcode.NOERROR
    assert txt(server) == ["first", "second"]
    assert update(server, secret, "delete", "first") == dns.rcode.NOERROR
    assert txt(server) == ["second"]
    server.reload(ZONE)  # a new zone text keeps what updates added
    assert txt(server) == ["second"]
    assert update(server, secret, "delete") == dns.rcode.NOERROR
    assert txt(server) == []


def test_the_zone_apex_answers_its_soa_with_authority(server: FakeDns) -> None:
    answer = dns.query.tcp(dns.message.make_query("example.test.", "SOA"), "127.0.0.1", timeout=5, port=server.port)
    assert answer.rcode() == dns.rcode.NOERROR and answer.answer and answer.flags & dns.flags.AA


def test_an_update_with_another_key_is_refused_and_changes_nothing(server: FakeDns) -> None:
    other = base64.b64encode(secrets.token_bytes(32)).decode()
    with pytest.raises(dns.exception.DNSException):  # NOTAUTH, unsigned: dnspython cannot verify it either
        update(server, other, "add", "forged")
    assert txt(server) == []


def test_only_challenge_txt_records_may_change(server: FakeDns, secret: str) -> None:
    keyring = dns.tsigkeyring.from_text({KEY_NAME: secret})
    message = dns.update.UpdateMessage("example.test.", keyring=keyring, keyalgorithm=dns.tsig.HMAC_SHA512)
    message.add("mail.example.test.", 60, "A", "192.0.2.66")
    assert dns.query.tcp(message, "127.0.0.1", timeout=5, port=server.port).rcode() == dns.rcode.REFUSED
    answer = dns.query.tcp(dns.message.make_query("mail.example.test.", "A"), "127.0.0.1", timeout=5, port=server.port)
    assert not answer.answer


def test_while_the_refuse_file_exists_updates_are_refused(server: FakeDns, secret: str, refuse: Path) -> None:
    refuse.touch()
    assert update(server, secret, "add", "broken") == dns.rcode.REFUSED
    assert txt(server) == []
    refuse.unlink()
    assert update(server, secret, "add", "mended") == dns.rcode.NOERROR
    assert txt(server) == ["mended"]

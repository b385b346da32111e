"""`february status --resolver`: the records as published, asked of the fake DNS on loopback with dnspython."""

from __future__ import annotations

import base64
import socket

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from february import dns_check
from february.dns_check import parse_resolver, published_results, resolver_lookup
from february.dns_records import zone_lines
from february.vm.lifecycle import VM_INVENTORY
from february.world.dns import FakeDns
from pyinfra_deploys.settings.inventory import inventory_host
from pyinfra_deploys.settings.model import Settings


def dkim_value() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


@pytest.fixture(scope="module")
def settings() -> Settings:
    return inventory_host(VM_INVENTORY, check_files=False).settings


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    """The host's DKIM record and another key's, made at test time."""
    return dkim_value(), dkim_value()


def levels(zone: str, settings: Settings, host_key: str) -> dict[str, tuple[str, str]]:
    with FakeDns(zone, port=0) as server:
        found = published_results(settings, {"example.test": host_key}, resolver_lookup("127.0.0.1", server.port))
    assert {line["section"] for line in found} == {"DNS"}
    return {line["name"]: (line["level"], line["message"]) for line in found}


def test_the_records_february_dns_prints_are_all_ok(settings: Settings, keys: tuple[str, str]) -> None:
    zone = "\n".join(zone_lines(settings, {"example.test": keys[0]}, "192.0.2.25")) + "\n"
    found = levels(zone, settings, keys[0])
    assert {name: level for name, (level, _) in found.items()} == {
        "A mail.example.test": "ok",
        "MX example.test": "ok",
        "SPF example.test": "ok",
        "DKIM example.test": "ok",  # a 2048-bit key: its TXT is split into 255-byte strings and joined back
        "DMARC example.test": "ok",
    }
    assert found["A mail.example.test"][1] == "192.0.2.25"


def test_another_dkim_key_or_none_is_an_error(settings: Settings, keys: tuple[str, str]) -> None:
    zone = "\n".join(zone_lines(settings, {"example.test": keys[1]}, "192.0.2.25")) + "\n"
    assert levels(zone, settings, keys[0])["DKIM example.test"] == (
        "error",
        "the published key is not the host's: receivers will fail its signatures",
    )
    without = "\n".join(line for line in zone_lines(settings, {}, "192.0.2.25")) + "\n"
    assert levels(without, settings, keys[0])["DKIM example.test"][0] == "error"


def test_other_spf_or_dmarc_values_are_warnings_and_missing_records_errors(settings: Settings, keys: tuple[str, str]) -> None:
    lines = zone_lines(settings, {"example.test": keys[0]})  # no address: the A record is a comment
    edited = [line.replace("~all", "-all") if "v=spf1" in line else line for line in lines if not line.startswith("_dmarc.")] + [
        'example.test. 300 IN TXT "google-site-verification=abc"'
    ]
    found = levels("\n".join(edited) + "\n", settings, keys[0])
    assert found["A mail.example.test"] == ("error", "no A or AAAA record")
    assert found["SPF example.test"][0] == "warning" and "-all" in found["SPF example.test"][1]
    assert found["DMARC example.test"][0] == "error"
    assert found["MX example.test"] == ("ok", "mail.example.test")
    other_mx = [line.replace("MX 10 mail.example.test.", "MX 10 mx.example.net.") for line in lines]
    assert levels("\n".join(other_mx) + "\n", settings, keys[0])["MX example.test"][0] == "error"


def test_two_spf_records_are_an_error(settings: Settings, keys: tuple[str, str]) -> None:
    lines = zone_lines(settings, {"example.test": keys[0]}, "192.0.2.25")
    twice = [*lines, 'example.test. 300 IN TXT "v=spf1 -all"']
    assert levels("\n".join(twice) + "\n", settings, keys[0])["SPF example.test"][0] == "error"


def test_a_resolver_that_does_not_answer_is_one_error_line(
    settings: Settings, keys: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dns_check, "TIMEOUT", 0.5)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:  # bound, never answers
        quiet.bind(("127.0.0.1", 0))
        port = quiet.getsockname()[1]
        found = published_results(settings, {"example.test": keys[0]}, resolver_lookup("127.0.0.1", port))
    assert [(line["name"], line["level"]) for line in found] == [("resolver", "error")]
    assert found[0]["message"].startswith(f"127.0.0.1:{port} did not answer for mail.example.test A")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("1.1.1.1", ("1.1.1.1", 53)),
        ("127.0.0.1:10053", ("127.0.0.1", 10053)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
    ],
)
def test_resolver_spellings(text: str, parsed: tuple[str, int]) -> None:
    assert parse_resolver(text) == parsed


@pytest.mark.parametrize("text", ["dns.example", "1.1.1.1:x", "1.1.1.1:0", "1.1.1.1:70000", "[::1]x", "1.1.1.1\n#", ""])
def test_bad_resolvers_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_resolver(text)

"""`february dns`: the records, and a receiver's verdict on relayed mail against them (fake DNS on loopback)."""

from __future__ import annotations

import base64
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from february.dns_records import spf_value, zone_lines
from february.vm.config import OUTSIDE_ADDRESS
from february.vm.lifecycle import VM_INVENTORY
from february.world.dns import FakeDns
from pyinfra_deploys.settings import SettingsError, load_settings
from pyinfra_deploys.settings.inventory import inventory_host
from tests.receiver import evaluate


def settings_with(sample: dict[str, Any], **smarthost: Any):
    data = {**sample, "smarthost": {**sample["smarthost"], **smarthost}}
    return load_settings(data)


def test_spf_authorises_the_smarthost(sample: dict[str, Any]) -> None:
    assert (
        spf_value(settings_with(sample, spf_include="spf.messagingengine.com"))
        == "v=spf1 mx include:spf.messagingengine.com ~all"
    )
    assert spf_value(settings_with(sample, spf_include="203.0.113.7")) == "v=spf1 mx ip4:203.0.113.7 ~all"
    assert spf_value(settings_with(sample, spf_include="2001:db8::/48")) == "v=spf1 mx ip6:2001:db8::/48 ~all"
    assert spf_value(load_settings({**sample, "smarthost": None})) == "v=spf1 mx ~all"


def test_a_smarthost_without_spf_include_is_refused_by_name(sample: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"smarthost\.spf_include"):
        zone_lines(load_settings(sample), {})


@pytest.mark.parametrize("network", ["0.0.0.0/0", "::/0", "10.0.0.0/8", "2001::/16", "128.0.0.0/1"])
def test_an_spf_network_wide_enough_to_send_as_anyone_is_refused(sample: dict[str, Any], network: str) -> None:
    with pytest.raises(SettingsError, match=r"smarthost\.spf_include.*wider than /(16|32)"):
        settings_with(sample, spf_include=network)


def test_the_widest_allowed_spf_networks_pass(sample: dict[str, Any]) -> None:
    assert spf_value(settings_with(sample, spf_include="198.51.0.0/16")) == "v=spf1 mx ip4:198.51.0.0/16 ~all"
    assert spf_value(settings_with(sample, spf_include="2001:db8::/32")) == "v=spf1 mx ip6:2001:db8::/32 ~all"


def test_bad_dns_settings_name_their_key(sample: dict[str, Any]) -> None:
    with pytest.raises(SettingsError, match=r"smarthost\.spf_include"):
        settings_with(sample, spf_include="not a domain!")
    with pytest.raises(SettingsError, match=r"dns\.dmarc_policy"):
        load_settings({**sample, "dns": {"dmarc_policy": "drop"}})
    with pytest.raises(SettingsError, match=r"dns\.dmarc_rua"):
        load_settings({**sample, "dns": {"dmarc_rua": "nobody"}})


def test_zone_lines_print_the_a_record_when_known(sample: dict[str, Any]) -> None:
    settings = load_settings(
        {
            **sample,
            "smarthost": {**sample["smarthost"], "spf_include": "spf.messagingengine.com"},
            "dns": {"dmarc_policy": "reject", "dmarc_rua": "reports@yourdomain.com"},
        }
    )
    lines = zone_lines(settings, {}, address="198.51.100.20")
    assert lines[0] == "mail.yourdomain.com. 300 IN A 198.51.100.20"
    assert 'yourdomain.com. 300 IN TXT "v=spf1 mx include:spf.messagingengine.com ~all"' in lines
    assert '_dmarc.yourdomain.com. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:reports@yourdomain.com"' in lines
    without = zone_lines(settings, {})
    assert without[0].startswith("; mail.yourdomain.com. needs an A")
    assert zone_lines(settings, {}, address="2001:db8::25")[0] == "mail.yourdomain.com. 300 IN AAAA 2001:db8::25"


# ----- the receiver's side -----


@pytest.fixture(scope="module")
def dkim_key() -> tuple[bytes, str]:
    """A DKIM key made at test time: (private PEM, TXT value)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def signed_message(pem: bytes, selector: str) -> bytes:
    message = (
        b"From: Alice <alice@example.test>\r\n"
        b"To: someone@elsewhere.test\r\n"
        b"Subject: relayed through the smarthost\r\n"
        b"Date: Thu, 01 Feb 2024 10:00:00 +0000\r\n"
        b"Message-ID: <relay-test@example.test>\r\n"
        b"\r\n"
        b"Hello from February.\r\n"
    )
    signature = dkim.sign(message, selector.encode(), b"example.test", pem, include_headers=[b"from", b"to", b"subject", b"date"])
    return signature + message


def test_relayed_mail_passes_spf_dkim_and_dmarc(dkim_key: tuple[bytes, str]) -> None:
    settings = inventory_host(VM_INVENTORY, check_files=False).settings
    pem, txt = dkim_key
    zone = "\n".join(zone_lines(settings, {"example.test": txt})) + "\n"  # with the A-record comment line
    message = signed_message(pem, settings.rspamd.dkim_selector)
    with FakeDns(zone, port=0) as server:
        relayed = evaluate(
            message, ip=OUTSIDE_ADDRESS, mail_from="alice@example.test", helo="relay.example.net", dns_port=server.port
        )
        assert (relayed.spf, relayed.dkim, relayed.dmarc) == ("pass", "pass", "pass"), relayed.header
        elsewhere = evaluate(
            message, ip="192.0.2.55", mail_from="alice@example.test", helo="other.example.net", dns_port=server.port
        )
        assert elsewhere.spf == "softfail", elsewhere.header
        forged = message.replace(b"Hello from February.", b"Send money.")
        forged_elsewhere = evaluate(
            forged, ip="192.0.2.55", mail_from="alice@example.test", helo="x.example.net", dns_port=server.port
        )
        assert (forged_elsewhere.dkim, forged_elsewhere.dmarc) == ("fail", "fail"), forged_elsewhere.header

"""The relay (smarthost) connection's TLS verification, as postconf reads main.cf."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.unit.test_postfix_templates import postconf, write_config
from tests.unit.test_tls_profile_config import needs_postconf


@needs_postconf
def test_encrypt_only_keeps_the_seed_value_and_matches_nothing(tmp_path: Path, sample: dict[str, Any]) -> None:
    data = dict(sample, smarthost=dict(sample["smarthost"], tls_verify="encrypt-only"))
    rendered = postconf(write_config(tmp_path / "c", data), "-n")
    assert rendered["smtp_tls_security_level"] == "encrypt"
    assert "smtp_tls_secure_cert_match" not in rendered
    assert rendered["smtp_tls_CAfile"] == "/etc/ssl/certs/ca-certificates.crt"


@needs_postconf
def test_a_private_ca_is_the_only_one_trusted_for_the_relay(tmp_path: Path, sample: dict[str, Any]) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    data = dict(sample, smarthost=dict(sample["smarthost"], ca_file=str(ca)))
    rendered = postconf(write_config(tmp_path / "c", data), "-n")
    assert rendered["smtp_tls_security_level"] == "secure"
    assert rendered["smtp_tls_secure_cert_match"] == "nexthop"
    assert rendered["smtp_tls_CAfile"] == "/etc/postfix/smarthost-ca.pem"

"""The self-signed certificate the tls role makes: its serial, key, mode, life and name."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pyinfra_deploys.roles import tls as tls_role
from pyinfra_deploys.settings.model import Tls


def test_the_serial_is_random_positive_and_16_bytes() -> None:
    serials = {tls_role.random_serial() for _ in range(50)}
    assert len(serials) == 50
    for serial in serials:
        assert serial.startswith("0x") and len(serial) == 34
        assert 1 << 120 <= int(serial, 16) < 1 << 127


@pytest.mark.parametrize("new_key", [True, False])
def test_the_self_signed_command_makes_a_certificate_a_client_accepts(tmp_path: Path, new_key: bool) -> None:
    key, cert = tmp_path / "mail.key", tmp_path / "mail.crt"
    if not new_key:
        subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    days = Tls().self_signed_days  # the default
    command = tls_role.self_signed_command("mail.example.test", days, new_key=new_key)
    command = command.replace(tls_role.KEY, str(key)).replace(tls_role.CERT, str(cert))
    before = key.read_bytes() if not new_key else b""
    subprocess.run(["sh", "-c", command], check=True)
    assert oct(key.stat().st_mode)[-3:] == "600" and oct(cert.stat().st_mode)[-3:] == "644"
    if not new_key:
        assert key.read_bytes() == before  # renewed with the same key
    from cryptography import x509

    parsed = x509.load_pem_x509_certificate(cert.read_bytes())
    assert parsed.serial_number > 0
    # sslyze's Mozilla check: "Certificate life span ... should be less than 366" (days, whole).
    assert (parsed.not_valid_after_utc - parsed.not_valid_before_utc).days == days < 366
    san = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mail.example.test"]

"""The self-signed certificate (tls.source: self-signed): its name, a random positive serial, a life current clients accept.

The converge's own openssl command, run here on files in a temporary folder
instead of the host's paths. (The session VM's certificate comes from the
world's ACME server, tests/vm/test_acme.py.)
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from cryptography import x509

from pyinfra_deploys import layout
from pyinfra_deploys.roles.tls import self_signed_command


def run_here(command: str, folder: Path) -> None:
    local = command.replace(layout.TLS_CERT, str(folder / "mail.crt")).replace(layout.TLS_KEY, str(folder / "mail.key"))
    assert layout.TLS_DIR not in local
    subprocess.run(["sh", "-c", local], check=True)


def test_the_self_signed_certificate_has_a_san_a_positive_serial_and_at_most_365_days(tmp_path: Path) -> None:
    run_here(self_signed_command("mail.example.test", 365, new_key=True), tmp_path)
    cert = x509.load_pem_x509_certificate((tmp_path / "mail.crt").read_bytes())
    assert cert.serial_number > 0
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(days=365)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mail.example.test"]
    assert (tmp_path / "mail.key").stat().st_mode & 0o077 == 0


def test_a_renewal_keeps_the_key_and_changes_the_serial(tmp_path: Path) -> None:
    run_here(self_signed_command("mail.example.test", 90, new_key=True), tmp_path)
    first = x509.load_pem_x509_certificate((tmp_path / "mail.crt").read_bytes())
    key = (tmp_path / "mail.key").read_bytes()
    run_here(self_signed_command("mail.example.test", 90, new_key=False), tmp_path)
    second = x509.load_pem_x509_certificate((tmp_path / "mail.crt").read_bytes())
    assert (tmp_path / "mail.key").read_bytes() == key
    assert second.public_key() == first.public_key() and second.serial_number != first.serial_number

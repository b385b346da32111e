"""The host's self-signed certificate: its name, a random positive serial, a life current clients accept."""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from pyinfra_deploys import layout
from tests.vm.mailvm import MailVm


def test_the_self_signed_certificate_has_a_san_a_positive_serial_and_at_most_365_days(mailvm: MailVm) -> None:
    text = mailvm.run(f"openssl x509 -in {layout.TLS_CERT} -noout -text").stdout
    assert "DNS:mail.example.test" in text
    cert = x509.load_pem_x509_certificate(mailvm.run(f"cat {layout.TLS_CERT}").stdout.encode())
    assert cert.serial_number > 0
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(days=365)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mail.example.test"]

"""The relay's certificate is verified: one from another CA defers the mail until the CA is right."""

from __future__ import annotations

import time

import pytest

from tests.vm.mailvm import MailVm, message

BACKUP = "/root/main.cf.february-test"


def queued(mailvm: MailVm) -> str:
    return mailvm.run("postqueue -p").stdout


def test_a_relay_certificate_from_another_ca_defers_the_mail_until_the_ca_is_right(mailvm: MailVm) -> None:
    """Trusting only the system CAs (which never signed the fake smarthost), the mail waits in the queue."""
    assert mailvm.run("postconf -h smtp_tls_security_level").stdout.strip() == "secure"
    subject = f"Relay CA check {time.time_ns()}"
    mailvm.run(f"cp -p /etc/postfix/main.cf {BACKUP}")
    try:
        mailvm.run("postconf -e smtp_tls_CAfile=/etc/ssl/certs/ca-certificates.crt && postfix reload")
        with mailvm.submission("alice@example.test") as client:
            client.send_message(message("alice@example.test", "dave@example.net", subject))
        deadline = time.monotonic() + 120
        while "certificate" not in (out := queued(mailvm)).lower():
            assert time.monotonic() < deadline, out
            time.sleep(2)
        assert "dave@example.net" in out
        # Postfix 3.7 says "Server certificate not verified"; others "not trusted"
        assert any(words in out.lower() for words in ("not verified", "not trusted", "verification")), out
        with pytest.raises(AssertionError):
            mailvm.wait_for_relayed(subject, timeout=5)
    finally:
        # Back to the converged main.cf, byte for byte (the zero-change converge test follows).
        mailvm.run(f"cp {BACKUP} /etc/postfix/main.cf && rm -f {BACKUP} && postfix reload")
    mailvm.run("postqueue -f")
    mailvm.wait_for_relayed(subject)

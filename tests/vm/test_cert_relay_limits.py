"""The host certificate's shape, the relay's certificate verified, anvil's concurrency limit, the failed-login delay, security updates."""

from __future__ import annotations

import datetime as dt
import smtplib
import socket
import time

import pytest
from cryptography import x509

from february.vm.lifecycle import vm_settings
from tests.vm.mailvm import MailVm, message

CERT = "/etc/ssl/mail/mail.crt"
BACKUP = "/root/main.cf.february-test"


def test_the_self_signed_certificate_has_a_san_a_positive_serial_and_at_most_397_days(mailvm: MailVm) -> None:
    text = mailvm.run(f"openssl x509 -in {CERT} -noout -text").stdout
    assert "DNS:mail.example.test" in text
    cert = x509.load_pem_x509_certificate(mailvm.run(f"cat {CERT}").stdout.encode())
    assert cert.serial_number > 0
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(days=397)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mail.example.test"]


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


def banner(sock: socket.socket) -> str:
    """The first reply line of an SMTP server (220 or 421)."""
    return sock.makefile("rb").readline().decode(errors="replace")


def test_one_client_gets_421_beyond_the_concurrency_limit_on_25(mailvm: MailVm) -> None:
    limit = vm_settings().limits.concurrent_connections
    sessions: list[socket.socket] = []
    try:
        for _ in range(limit):
            sessions.append(socket.create_connection(("127.0.0.1", mailvm.config.smtp_port), timeout=60))
            assert banner(sessions[-1]).startswith("220"), "a session within the limit was refused"
        sessions.append(socket.create_connection(("127.0.0.1", mailvm.config.smtp_port), timeout=60))
        reply = banner(sessions[-1])
        assert reply.startswith("421") and "too many connections" in reply.lower(), reply
    finally:
        for sock in sessions:
            sock.close()
    # The count drops as soon as the sessions close: later tests are not limited.
    deadline = time.monotonic() + 30
    while True:
        with socket.create_connection(("127.0.0.1", mailvm.config.smtp_port), timeout=60) as sock:
            reply = banner(sock)
        if reply.startswith("220"):
            break
        assert time.monotonic() < deadline, reply
        time.sleep(1)


def test_a_wrong_password_on_587_is_answered_only_after_the_failure_delay(mailvm: MailVm) -> None:
    delay = vm_settings().limits.auth_failure_delay
    assert delay > 0
    with mailvm.submission() as client:
        began = time.monotonic()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("alice@example.test", "wrong-password")
        elapsed = time.monotonic() - began
    assert elapsed >= delay - 0.25, elapsed


def test_security_updates_are_configured(mailvm: MailVm) -> None:
    mailvm.run("dpkg-query -W unattended-upgrades needrestart")
    dump = mailvm.run("apt-config dump Unattended-Upgrade").stdout
    patterns = [line for line in dump.splitlines() if line.startswith("Unattended-Upgrade::Origins-Pattern:: ")]
    assert patterns == [
        'Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";',
        'Unattended-Upgrade::Origins-Pattern:: "origin=Ubuntu,archive=${distro_codename}-security";',
    ]
    assert 'Unattended-Upgrade::Automatic-Reboot-Time "04:30";' in dump
    assert 'APT::Periodic::Unattended-Upgrade "1";' in mailvm.run("apt-config dump APT::Periodic").stdout
    assert mailvm.run("systemctl is-enabled apt-daily-upgrade.timer").stdout.strip() == "enabled"
    assert "$nrconf{restart} = 'a';" in mailvm.run("cat /etc/needrestart/conf.d/february.conf").stdout

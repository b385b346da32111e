"""Port 587 (check 4): AUTH only after STARTTLS, wrong passwords fail, no AUTH no mail."""

from __future__ import annotations

import smtplib

import pytest

from tests.vm.mailvm import MailVm, insecure_context


def test_587_offers_auth_only_after_starttls(mailvm: MailVm) -> None:
    with mailvm.smtp(mailvm.config.submission_port) as client:
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")
        client.starttls(context=insecure_context())
        client.ehlo()
        assert "PLAIN" in client.esmtp_features["auth"].split()


def test_587_refuses_mail_before_starttls(mailvm: MailVm) -> None:
    with mailvm.smtp(mailvm.config.submission_port) as client:
        code, reply = client.mail("alice@example.test")
    assert code == 530 and b"STARTTLS" in reply


def test_a_wrong_password_fails_on_587(mailvm: MailVm) -> None:
    with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
        mailvm.submission("alice@example.test", "wrong-password")
    assert caught.value.smtp_code == 535


def test_mail_without_auth_on_587_is_refused(mailvm: MailVm) -> None:
    with mailvm.submission() as client:
        client.mail("alice@example.test")
        code, reply = client.rcpt("dave@example.net")
    assert code == 554 and b"5.7.1" in reply

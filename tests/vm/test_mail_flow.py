"""Mail through the booted VM, the way the seed article tests it (checks 1, 2, 3, 7)."""

from __future__ import annotations

import smtplib
import uuid
from email import message_from_bytes

import pytest

from tests.vm.mailvm import MailVm, message


@pytest.fixture(scope="module")
def inbound(mailvm: MailVm) -> str:
    """One message from outside on port 25 to alice, sent once for the tests below."""
    subject = f"inbound {uuid.uuid4()}"
    with mailvm.smtp() as client:
        client.send_message(message("carol@example.net", "alice@example.test", subject))
    return subject


@pytest.fixture(scope="module")
def outbound(mailvm: MailVm) -> str:
    """One message submitted on 587 by alice to an outside address."""
    subject = f"outbound {uuid.uuid4()}"
    with mailvm.submission("alice@example.test") as client:
        client.send_message(message("alice@example.test", "dave@example.net", subject))
    return subject


@pytest.fixture(scope="module")
def to_alias(mailvm: MailVm) -> str:
    subject = f"alias {uuid.uuid4()}"
    with mailvm.smtp() as client:
        client.send_message(message("carol@example.net", "team@example.test", subject))
    return subject


def test_inbound_mail_on_25_is_delivered_by_lmtp_into_maildir_and_read_over_imaps(mailvm: MailVm, inbound: str) -> None:
    raw = mailvm.wait_for_message("alice@example.test", inbound)
    mail = message_from_bytes(raw)
    assert mail["Subject"] == inbound
    assert mail["Delivered-To"] == "alice@example.test"
    found = mailvm.run(f"grep -rl {inbound.split()[1]} /var/vmail/example.test/alice/Maildir/").stdout
    assert "/Maildir/cur/" in found or "/Maildir/new/" in found
    log = mailvm.run("journalctl -u postfix@- --no-pager -o cat | grep 'to=<alice@example.test>' | tail -n 5").stdout
    assert "relay=mail.example.test[private/dovecot-lmtp]" in log and "status=sent" in log


def test_outbound_mail_on_587_reaches_the_smarthost_over_tls_with_the_relay_credentials(mailvm: MailVm, outbound: str) -> None:
    record = mailvm.wait_for_relayed(outbound)
    assert record["tls"] is True and record["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert record["auth_login"] == mailvm.relay_login
    assert record["mail_from"] == "alice@example.test"
    assert record["rcpt_tos"] == ["dave@example.net"]


def test_unauthenticated_mail_to_an_outside_domain_is_relay_access_denied(mailvm: MailVm) -> None:
    with mailvm.smtp() as client:
        client.mail("mallory@example.net")
        code, reply = client.rcpt("victim@example.org")
    assert code == 554
    assert b"5.7.1" in reply and b"Relay access denied" in reply


def test_a_forged_local_sender_does_not_open_the_relay(mailvm: MailVm) -> None:
    with mailvm.smtp() as client:
        client.mail("alice@example.test")
        code, reply = client.rcpt("victim@example.org")
    assert code == 554 and b"Relay access denied" in reply


def test_an_alias_delivers_into_each_target_mailbox(mailvm: MailVm, to_alias: str) -> None:
    for address in ("alice@example.test", "bob@example.test"):
        assert message_from_bytes(mailvm.wait_for_message(address, to_alias))["Subject"] == to_alias


def test_an_unknown_local_address_is_rejected(mailvm: MailVm) -> None:
    with mailvm.smtp() as client:
        client.mail("carol@example.net")
        code, reply = client.rcpt("nobody@example.test")
    assert code == 550 and b"User unknown" in reply


def test_the_mailbox_password_is_required_for_imap(mailvm: MailVm) -> None:
    import imaplib

    from tests.vm.mailvm import insecure_context

    client = imaplib.IMAP4_SSL("127.0.0.1", mailvm.config.imaps_port, ssl_context=insecure_context(), timeout=60)
    with pytest.raises(imaplib.IMAP4.error):
        client.login("alice@example.test", "not-the-password")
    client.logout()


def test_smtp_refuses_auth_before_starttls_on_25(mailvm: MailVm) -> None:
    with mailvm.smtp() as client:
        assert not client.has_extn("auth")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.login("alice@example.test", mailvm.password("alice@example.test"))

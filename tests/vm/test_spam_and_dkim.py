"""Rspamd (check 6): GTUBE is rejected, "add header" spam is filed into Junk by Sieve,
outbound mail carries a DKIM signature that verifies against the host's key."""

from __future__ import annotations

import smtplib
import uuid
from email import message_from_bytes

import dkim
import pytest

from february.dns_records import dkim_txt_value
from february.world import raw_bytes
from tests.vm.mailvm import MailVm, message

# Rspamd's test patterns: X forces the "reject" action, Y "add header".
GTUBE_REJECT = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
GTUBE_ADD_HEADER = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


@pytest.fixture(scope="module")
def spam_for_junk(mailvm: MailVm) -> str:
    subject = f"probably spam {uuid.uuid4()}"
    with mailvm.smtp() as client:
        client.send_message(message("carol@example.net", "alice@example.test", subject, f"Buy now.\n{GTUBE_ADD_HEADER}\n"))
    return subject


@pytest.fixture(scope="module")
def signed(mailvm: MailVm) -> dict:
    subject = f"signed {uuid.uuid4()}"
    with mailvm.submission("bob@example.test") as client:
        client.send_message(message("bob@example.test", "erin@example.org", subject))
    return mailvm.wait_for_relayed(subject)


def test_gtube_is_rejected_at_end_of_data(mailvm: MailVm) -> None:
    with mailvm.smtp() as client, pytest.raises(smtplib.SMTPDataError) as caught:
        client.send_message(message("carol@example.net", "alice@example.test", "gtube", f"{GTUBE_REJECT}\n"))
    assert caught.value.smtp_code == 554
    assert b"5.7.1" in caught.value.smtp_error


def test_add_header_spam_is_filed_into_junk(mailvm: MailVm, spam_for_junk: str) -> None:
    raw = mailvm.wait_for_message("alice@example.test", spam_for_junk, mailbox="Junk")
    assert message_from_bytes(raw)["X-Spam"] == "Yes"
    with mailvm.imap("alice@example.test") as client:
        client.select("INBOX", readonly=True)
        _, found = client.search(None, "HEADER", "Subject", f'"{spam_for_junk}"')
    assert found[0].split() == []


def dns_for(mailvm: MailVm):
    txt = dkim_txt_value(mailvm.run("cat /var/lib/rspamd/dkim/example.test.february.txt").stdout).encode()

    def dnsfunc(name: bytes | str, timeout: int = 5) -> bytes | None:
        wanted = name.decode() if isinstance(name, bytes) else name
        return txt if wanted.rstrip(".") == "february._domainkey.example.test" else None

    return dnsfunc


def test_outbound_mail_has_a_dkim_signature_that_verifies(mailvm: MailVm, signed: dict) -> None:
    raw = raw_bytes(signed)
    header = message_from_bytes(raw)["DKIM-Signature"]
    assert header is not None and "d=example.test" in header and "s=february" in header
    assert dkim.verify(raw, dnsfunc=dns_for(mailvm))


def test_a_tampered_message_fails_dkim(mailvm: MailVm, signed: dict) -> None:
    raw = raw_bytes(signed).replace(b"Hello from the February tests.", b"Hello from somebody else.....")
    assert not dkim.verify(raw, dnsfunc=dns_for(mailvm))


def test_relayed_mail_passes_spf_dkim_and_dmarc_at_a_receiver_against_the_published_records(mailvm: MailVm, signed: dict) -> None:
    """The message the fake smarthost received, judged as the relay's next hop would: the
    records are the ones `february dns` makes (published into the fake DNS by the VM's
    converge), the connecting address is the relay's, as a receiver behind it sees it."""
    from february.vm.config import OUTSIDE_ADDRESS, RELAY_NAME
    from tests.receiver import evaluate

    verdict = evaluate(
        raw_bytes(signed), ip=OUTSIDE_ADDRESS, mail_from=signed["mail_from"], helo=RELAY_NAME, dns_port=mailvm.config.dns_port
    )
    assert (verdict.spf, verdict.dkim, verdict.dmarc) == ("pass", "pass", "pass"), verdict.header
    elsewhere = evaluate(
        raw_bytes(signed),
        ip="192.0.2.55",
        mail_from=signed["mail_from"],
        helo="elsewhere.example.net",
        dns_port=mailvm.config.dns_port,
    )
    assert elsewhere.spf != "pass", elsewhere.header

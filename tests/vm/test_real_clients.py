"""Real mail clients at their defaults: msmtp and swaks submit on 587, mbsync syncs over IMAPS.

Each client keeps its own defaults; the only lines added are what any user
of a self-signed server writes: where the server is, the login, and the
server's certificate (a pinned fingerprint for msmtp, the certificate file
for mbsync). A desktop client says EHLO its own way (msmtp says
`localhost`, swaks the machine's bare name, Outlook a bare computer name,
some clients an address literal): an authenticated submission goes through
whatever it says, while port 25 keeps its HELO checks for other servers.
"""

from __future__ import annotations

import smtplib
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from pyinfra_deploys import layout
from tests.vm.mailvm import MailVm, message

SENDER = "alice@example.test"
HOSTNAME = "mail.example.test"


def resolving(folder: Path, argv: list[str]) -> list[str]:
    """``argv`` run where the server's name resolves to the loopback, as the owner's DNS would make it.

    mbsync checks that the certificate names the host it connected to, so it
    must connect by name: the name goes into an /etc/hosts seen only by that
    process (a mount namespace of its own), never into this machine's.
    """
    hosts = folder / "hosts"
    hosts.write_text(f"127.0.0.1 localhost {HOSTNAME}\n")
    return ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts), *argv]


@pytest.fixture(scope="module")
def server_cert(mailvm: MailVm, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("client") / "server.pem"
    path.write_text(mailvm.run(f"cat {layout.TLS_CERT}").stdout)
    return path


def password_file(mailvm: MailVm, folder: Path, address: str) -> Path:
    path = folder / f"{address}.password"
    path.write_text(mailvm.password(address) + "\n")
    path.chmod(0o600)
    return path


def msmtp_config(mailvm: MailVm, folder: Path, cert: Path, ehlo: str | None) -> Path:
    pem = x509.load_pem_x509_certificate(cert.read_bytes())
    fingerprint = ":".join(f"{byte:02X}" for byte in pem.fingerprint(hashes.SHA256()))
    lines = [
        "account february",
        "host 127.0.0.1",
        f"port {mailvm.config.submission_port}",
        f"from {SENDER}",
        "auth on",
        f"user {SENDER}",
        f"passwordeval cat {password_file(mailvm, folder, SENDER)}",
        "tls on",
        "tls_starttls on",
        f"tls_fingerprint {fingerprint}",
    ]
    if ehlo is not None:  # None: msmtp's own default, `localhost`
        lines.append(f"domain {ehlo}")
    path = folder / "msmtprc"
    path.write_text("\n".join(lines) + "\naccount default : february\n")
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    "ehlo", [None, "laptop", "[192.168.1.5]"], ids=["msmtp-default-localhost", "bare-name", "address-literal"]
)
def test_msmtp_submits_on_587_whatever_it_says_in_ehlo(
    mailvm: MailVm, server_cert: Path, tmp_path: Path, ehlo: str | None
) -> None:
    subject = f"msmtp {ehlo or 'default'} {uuid.uuid4().hex[:8]}"
    config = msmtp_config(mailvm, tmp_path, server_cert, ehlo)
    mail = message(SENDER, "dave@example.net", subject).as_bytes()
    done = subprocess.run(["msmtp", "-C", str(config), "dave@example.net"], input=mail, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    record = mailvm.wait_for_relayed(subject)
    assert "DKIM-Signature:" in record["data"]


def test_swaks_submits_on_587_with_its_defaults(mailvm: MailVm) -> None:
    subject = f"swaks {uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [
            # --hide-send: the transcript never shows the AUTH lines, which carry the password.
            "swaks",
            "--hide-send",
            "--server",
            f"127.0.0.1:{mailvm.config.submission_port}",
            "--tls",
            "--auth",
            "--auth-user",
            SENDER,
            "--auth-password",
            mailvm.password(SENDER),
            "--from",
            SENDER,
            "--to",
            "dave@example.net",
            "--header",
            f"Subject: {subject}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "250 2.0.0 Ok: queued" in done.stdout, done.stdout[-2000:]
    mailvm.wait_for_relayed(subject)


def test_port_25_still_refuses_a_bare_helo_name(mailvm: MailVm) -> None:
    with smtplib.SMTP("127.0.0.1", mailvm.config.smtp_port, local_hostname="laptop", timeout=120) as client:
        client.ehlo()
        client.mail("carol@example.net")
        code, reply = client.rcpt("alice@example.test")
    assert code == 504 and b"need fully-qualified hostname" in reply, reply


def test_mbsync_syncs_the_inbox_over_imaps(mailvm: MailVm, server_cert: Path, tmp_path: Path) -> None:
    subject = f"mbsync {uuid.uuid4().hex[:8]}"
    with mailvm.smtp() as client:
        client.send_message(message("carol@example.net", SENDER, subject))
    mailvm.wait_for_message(SENDER, subject)
    local = tmp_path / "mail"
    local.mkdir()
    config = tmp_path / "mbsyncrc"
    config.write_text(
        "IMAPAccount february\n"
        f"Host {HOSTNAME}\n"
        f"Port {mailvm.config.imaps_port}\n"
        f"User {SENDER}\n"
        f'PassCmd "cat {password_file(mailvm, tmp_path, SENDER)}"\n'
        "SSLType IMAPS\n"
        f"CertificateFile {server_cert}\n"
        "\n"
        "IMAPStore february-remote\n"
        "Account february\n"
        "\n"
        "MaildirStore laptop\n"
        f"Path {local}/\n"
        f"Inbox {local}/INBOX\n"
        "\n"
        "Channel february\n"
        "Far :february-remote:\n"
        "Near :laptop:\n"
        "Create Near\n"
        # The sync state in the local Maildir, not ~/.mbsync: each run starts fresh.
        "SyncState *\n"
    )
    began = time.monotonic()
    done = subprocess.run(
        resolving(tmp_path, ["mbsync", "-c", str(config), "february"]), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    synced = [path for path in (local / "INBOX").glob("*/*") if f"Subject: {subject}".encode() in path.read_bytes()]
    assert len(synced) == 1, (
        f"{subject!r} not among {len(list((local / 'INBOX').glob('*/*')))} synced files ({time.monotonic() - began:.0f}s)"
    )

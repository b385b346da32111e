"""The fake smarthost refuses what the real provider refuses and records what it accepts.

The VM tests rely on both halves: a Postfix misconfigured to skip STARTTLS
or AUTH must fail here, and an accepted message must come back byte for
byte (DKIM signatures are verified on the spooled bytes).
"""

from __future__ import annotations

import os
import re
import signal
import smtplib
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from dnslib import DNSRecord

from february.paths import REPO
from february.world.certs import self_signed
from february.world.smarthost import FakeSmarthost, raw_bytes, read_spool

USER = "relay-user@example.net"
PASSWORD = "s3cret pass"
CN = "smarthost.test"


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    assert self_signed(cert, key, CN) is True
    return cert, key


@pytest.fixture
def smarthost(tmp_path: Path, tls_pair: tuple[Path, Path]) -> Iterator[FakeSmarthost]:
    cert, key = tls_pair
    server = FakeSmarthost(tmp_path / "spool", USER, PASSWORD, cert, key, port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def client_tls(cert: Path, check_hostname: bool = False) -> ssl.SSLContext:
    """Verify the smarthost against its own certificate, as a pinned Postfix would.

    smtplib checks the name it connected to (127.0.0.1), not the smarthost's
    name, so the name is checked in its own test.
    """
    ctx = ssl.create_default_context(cafile=str(cert))
    ctx.check_hostname = check_hostname
    return ctx


def connect(server: FakeSmarthost) -> smtplib.SMTP:
    assert server.host == "127.0.0.1" and server.port not in (0, 10025)
    return smtplib.SMTP(server.host, server.port, local_hostname="vm.example.test", timeout=10)


def test_self_signed_is_kept_when_valid_and_key_is_private(tls_pair: tuple[Path, Path]) -> None:
    cert, key = tls_pair
    before = cert.read_bytes()
    assert self_signed(cert, key, CN) is False
    assert cert.read_bytes() == before
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    loaded = x509.load_pem_x509_certificate(before)
    san = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [CN]


def test_self_signed_regenerates_for_another_name(tmp_path: Path, tls_pair: tuple[Path, Path]) -> None:
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_bytes(tls_pair[0].read_bytes())
    key.write_bytes(tls_pair[1].read_bytes())
    assert self_signed(cert, key, "other.test") is True
    assert self_signed(cert, key, "other.test") is False


def test_refuses_non_loopback_bind(tmp_path: Path, tls_pair: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError):
        FakeSmarthost(tmp_path, USER, PASSWORD, *tls_pair, host="0.0.0.0", port=0)


def test_certificate_verifies_for_its_name(smarthost: FakeSmarthost, tls_pair: tuple[Path, Path]) -> None:
    with connect(smarthost) as smtp:
        smtp.ehlo()
        code, _ = smtp.docmd("STARTTLS")
        assert code == 220
        with client_tls(tls_pair[0], check_hostname=True).wrap_socket(smtp.sock, server_hostname=CN) as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
        smtp.sock = None  # closed with the TLS wrapper


def test_no_auth_before_starttls(smarthost: FakeSmarthost) -> None:
    with connect(smarthost) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert not smtp.has_extn("auth")
        code, _ = smtp.docmd("AUTH", "PLAIN")
        assert code == 530
        code, _ = smtp.docmd("MAIL", "FROM:<a@example.test>")
        assert code == 530


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_auth_after_starttls(smarthost: FakeSmarthost, tls_pair: tuple[Path, Path], mechanism: str) -> None:
    with connect(smarthost) as smtp:
        smtp.starttls(context=client_tls(tls_pair[0]))
        smtp.ehlo()
        assert "PLAIN" in smtp.esmtp_features["auth"] and "LOGIN" in smtp.esmtp_features["auth"]
        auth_method = {"PLAIN": smtp.auth_plain, "LOGIN": smtp.auth_login}[mechanism]
        smtp.user, smtp.password = USER, PASSWORD
        code, _ = smtp.auth(mechanism, auth_method)
        assert code == 235


def test_wrong_password_is_535(smarthost: FakeSmarthost, tls_pair: tuple[Path, Path]) -> None:
    with connect(smarthost) as smtp:
        smtp.starttls(context=client_tls(tls_pair[0]))
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            smtp.login(USER, "wrong")
        assert err.value.smtp_code == 535


def test_mail_without_auth_is_530(smarthost: FakeSmarthost, tls_pair: tuple[Path, Path]) -> None:
    with connect(smarthost) as smtp:
        smtp.starttls(context=client_tls(tls_pair[0]))
        smtp.ehlo()
        code, _ = smtp.docmd("MAIL", "FROM:<a@example.test>")
        assert code == 530
    assert read_spool(smarthost.spool) == []


def test_message_is_spooled_with_exact_bytes(smarthost: FakeSmarthost, tls_pair: tuple[Path, Path]) -> None:
    # CRLF endings, a dot-stuffed line, 8-bit UTF-8 and a byte that is not UTF-8 at all.
    raw = (
        b"From: a@example.test\r\nTo: b@example.net\r\nSubject: caf\xc3\xa9\r\n"
        b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test;\r\n\tb=abc\r\n\r\n"
        b"line one\r\n.starts with a dot\r\n\xff raw byte\r\n"
    )
    with connect(smarthost) as smtp:
        smtp.starttls(context=client_tls(tls_pair[0]))
        smtp.login(USER, PASSWORD)
        refused = smtp.sendmail("a@example.test", ["b@example.net", "c@example.org"], raw, mail_options=["BODY=8BITMIME"])
        assert refused == {}
        smtp.sendmail("a@example.test", ["d@example.net"], b"Subject: second\r\n\r\nx\r\n")

    first, second = read_spool(smarthost.spool)
    assert first["tls"] is True and first["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert first["auth_login"] == USER
    assert first["mail_from"] == "a@example.test"
    assert first["rcpt_tos"] == ["b@example.net", "c@example.org"]
    assert first["peer"].startswith("127.0.0.1:")
    assert first["helo"] == "vm.example.test"
    assert raw_bytes(first) == raw
    assert first["size"] == len(raw)
    assert "Subject: café" in first["data"]
    assert second["rcpt_tos"] == ["d@example.net"]
    assert first["received_at"] <= second["received_at"]
    assert {"id", "received_at", "mail_options", "rcpt_options", "data_b64"} <= first.keys()
    assert not [p for p in smarthost.spool.iterdir() if p.name.startswith(".")]


def test_world_main_runs_both_until_sigterm(tmp_path: Path) -> None:
    """The VM tooling's view: start, wait for the pid file, use both services, SIGHUP, SIGTERM -> exit 0."""
    zone = tmp_path / "zone"
    zone.write_text("example.net. 300 IN MX 10 mx.example.net.\nmx.example.net. 300 IN A 192.0.2.10\n")
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD + "\n")
    pidfile, spool = tmp_path / "world.pid", tmp_path / "spool"
    cert, key = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    argv = [
        sys.executable, "-m", "february.world",
        "--spool", str(spool), "--smarthost-port", "0", "--dns-port", "0",
        "--username", USER, "--password-file", str(password_file),
        "--cert", str(cert), "--key", str(key),
        "--zone-file", str(zone), "--pidfile", str(pidfile),
    ]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not pidfile.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "pid file never appeared"
            time.sleep(0.05)
        assert pidfile.read_text().strip() == str(proc.pid)
        assert proc.stdout is not None
        ready = proc.stdout.readline()  # printed before the pid file was written
        match = re.search(r"world ready smarthost=127\.0\.0\.1:(\d+) dns=127\.0\.0\.1:(\d+)", ready)
        assert match, ready
        smtp_port, dns_port = int(match[1]), int(match[2])

        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.starttls(context=client_tls(cert))
            smtp.login(USER, PASSWORD)
            smtp.sendmail("a@example.test", ["b@example.net"], b"Subject: via main\r\n\r\nhello\r\n")
        (record,) = read_spool(spool)
        assert record["auth_login"] == USER and record["tls"] is True

        def mx() -> list[str]:
            packet = DNSRecord.question("example.net", "MX").send("127.0.0.1", dns_port, tcp=True, timeout=5)
            return [str(rr.rdata.label) for rr in DNSRecord.parse(packet).rr]

        assert mx() == ["mx.example.net."]
        zone.write_text("example.net. 300 IN MX 5 new.example.net.\n")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while mx() != ["new.example.net."]:
            assert time.monotonic() < deadline, "SIGHUP did not reload the zone"
            time.sleep(0.05)

        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "smarthost accepted" in out and "to=b@example.net" in out
    assert "dns tcp 127.0.0.1:" in out and "example.net. MX -> NOERROR" in out
    assert "zone reloaded" in out
    assert not pidfile.exists()

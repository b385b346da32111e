"""TLS profile, relay verification, limits and security updates, as rendered (and as postconf, doveconf and openssl read them)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyinfra_deploys.place import render
from pyinfra_deploys.roles import tls as tls_role
from pyinfra_deploys.settings import load_settings
from tests.unit.test_postfix_templates import postconf, write_config

needs_postconf = pytest.mark.skipif(shutil.which("postconf") is None, reason="needs Postfix's postconf")
needs_doveconf = pytest.mark.skipif(shutil.which("doveconf") is None, reason="needs Dovecot's doveconf (dovecot-core)")
FORBIDDEN = ("CBC", "CAMELLIA", "ARIA", "CCM", "DHE-", "SHA1", "RSA-AES128-SHA", "NULL")


def test_the_tls_1_2_suites_are_only_ecdhe_with_aead(sample: dict[str, Any]) -> None:
    ciphers = load_settings(sample).tls.ciphers
    listed = subprocess.run(["openssl", "ciphers", "-v", ciphers], capture_output=True, text=True, check=True).stdout.splitlines()
    listed = [line for line in listed if " TLSv1.3 " not in line]  # openssl lists its TLS 1.3 suites too
    assert len(listed) == 6
    for line in listed:
        name, version, kx, _au, enc, mac = line.split()[:6]
        assert version == "TLSv1.2" and kx == "Kx=ECDH" and mac == "Mac=AEAD", line
        assert enc.startswith(("Enc=AESGCM", "Enc=CHACHA20/POLY1305")), line
        assert not name.startswith("DHE-"), line


@needs_postconf
def test_modern_profile_is_tls_1_3_only_on_587(tmp_path: Path, sample: dict[str, Any]) -> None:
    rendered = postconf(write_config(tmp_path / "c", dict(sample, tls={"profile": "modern"})), "-n")
    assert rendered["smtpd_tls_mandatory_protocols"] == ">=TLSv1.3"
    assert rendered["smtpd_tls_protocols"] == "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"  # port 25 keeps its floor
    assert rendered["smtpd_tls_exclude_ciphers"] == "aNULL, eNULL"


@needs_postconf
def test_encrypt_only_keeps_the_seed_value_and_matches_nothing(tmp_path: Path, sample: dict[str, Any]) -> None:
    data = dict(sample, smarthost=dict(sample["smarthost"], tls_verify="encrypt-only"))
    rendered = postconf(write_config(tmp_path / "c", data), "-n")
    assert rendered["smtp_tls_security_level"] == "encrypt"
    assert "smtp_tls_secure_cert_match" not in rendered
    assert rendered["smtp_tls_CAfile"] == "/etc/ssl/certs/ca-certificates.crt"


@needs_postconf
def test_a_private_ca_is_the_only_one_trusted_for_the_relay(tmp_path: Path, sample: dict[str, Any]) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    data = dict(sample, smarthost=dict(sample["smarthost"], ca_file=str(ca)))
    rendered = postconf(write_config(tmp_path / "c", data), "-n")
    assert rendered["smtp_tls_security_level"] == "secure"
    assert rendered["smtp_tls_secure_cert_match"] == "nexthop"
    assert rendered["smtp_tls_CAfile"] == "/etc/postfix/smarthost-ca.pem"


@needs_postconf
def test_limits_are_the_settings(tmp_path: Path, sample: dict[str, Any]) -> None:
    data = dict(sample, limits={"connections_per_minute": 7, "messages_per_minute": 8, "concurrent_connections": 3})
    rendered = postconf(write_config(tmp_path / "c", data), "-n")
    assert rendered["smtpd_client_connection_rate_limit"] == "7"
    assert rendered["smtpd_client_message_rate_limit"] == "8"
    assert rendered["smtpd_client_connection_count_limit"] == "3"
    # mynetworks stays exempt: the exceptions are Postfix's default.
    assert "smtpd_client_event_limit_exceptions" not in rendered


def doveconf(tmp_path: Path, settings_data: dict[str, Any]) -> dict[str, str]:
    """doveconf -n on the rendered dovecot.conf, with a throwaway certificate in place of the host's."""
    cert, key = tmp_path / "t.crt", tmp_path / "t.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=t",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    text = render("/etc/dovecot/dovecot.conf", s=load_settings(settings_data), vmail_uid=5000)
    text = text.replace("/etc/ssl/mail/mail.crt", str(cert)).replace("/etc/ssl/mail/mail.key", str(key))
    conf = tmp_path / "dovecot.conf"
    conf.write_text(text)
    done = subprocess.run(["doveconf", "-n", "-c", str(conf)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    names = ["ssl_min_protocol", "ssl_cipher_list", "ssl_curve_list", "ssl_prefer_server_ciphers", "auth_failure_delay"]
    done = subprocess.run(["doveconf", "-c", str(conf), *names], capture_output=True, text=True, check=True)
    return dict(line.split(" = ", 1) for line in done.stdout.splitlines())


@needs_doveconf
def test_dovecot_reads_the_intermediate_profile(tmp_path: Path, sample: dict[str, Any]) -> None:
    values = doveconf(tmp_path, dict(sample, limits={"auth_failure_delay": 3}))
    assert values["ssl_min_protocol"] == "TLSv1.2"
    assert values["ssl_cipher_list"] == load_settings(sample).tls.ciphers
    assert values["ssl_curve_list"] == "X25519:prime256v1:secp384r1"
    assert values["ssl_prefer_server_ciphers"] == "yes"
    assert values["auth_failure_delay"] == "3 secs"


@needs_doveconf
def test_dovecot_modern_is_tls_1_3_only(tmp_path: Path, sample: dict[str, Any]) -> None:
    assert doveconf(tmp_path, dict(sample, tls={"profile": "modern"}))["ssl_min_protocol"] == "TLSv1.3"


def test_unattended_upgrades_take_the_security_pocket_of_both_distributions(sample: dict[str, Any]) -> None:
    settings = load_settings(dict(sample, updates={"reboot": True, "reboot_time": "03:05"}))
    text = render("/etc/apt/apt.conf.d/52february-unattended", s=settings)
    assert '"origin=Debian,codename=${distro_codename}-security,label=Debian-Security";' in text
    assert '"origin=Ubuntu,archive=${distro_codename}-security";' in text
    assert 'Unattended-Upgrade::Automatic-Reboot "true";' in text
    assert 'Unattended-Upgrade::Automatic-Reboot-Time "03:05";' in text
    assert '"origin=Debian,codename=${distro_codename}-updates' not in text  # security only
    periodic = render("/etc/apt/apt.conf.d/20auto-upgrades", s=settings)
    assert 'APT::Periodic::Unattended-Upgrade "1";' in periodic and 'APT::Periodic::Update-Package-Lists "1";' in periodic
    off = load_settings(dict(sample, updates={"enabled": False, "reboot": False}))
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in render("/etc/apt/apt.conf.d/52february-unattended", s=off)
    assert 'APT::Periodic::Unattended-Upgrade "0";' in render("/etc/apt/apt.conf.d/20auto-upgrades", s=off)


@pytest.mark.skipif(shutil.which("apt-config") is None, reason="needs apt-config")
def test_apt_parses_the_unattended_upgrades_file(tmp_path: Path, sample: dict[str, Any]) -> None:
    # As the package's 50unattended-upgrades would come first: our file clears its origins.
    package_default = 'Unattended-Upgrade::Origins-Pattern { "origin=Debian,codename=${distro_codename},label=Debian"; };\n'
    conf = tmp_path / "apt.conf"
    conf.write_text(package_default + render("/etc/apt/apt.conf.d/52february-unattended", s=load_settings(sample)))
    done = subprocess.run(
        ["apt-config", "-c", str(conf), "dump", "Unattended-Upgrade"], capture_output=True, text=True, check=True
    )
    assert 'label=Debian"' not in done.stdout
    assert 'Unattended-Upgrade::Origins-Pattern:: "origin=Ubuntu,archive=${distro_codename}-security";' in done.stdout
    assert 'Unattended-Upgrade::Automatic-Reboot-Time "04:30";' in done.stdout


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
    command = tls_role.self_signed_command("mail.example.test", 397, new_key=new_key)
    command = command.replace(tls_role.KEY, str(key)).replace(tls_role.CERT, str(cert))
    before = key.read_bytes() if not new_key else b""
    subprocess.run(["sh", "-c", command], check=True)
    assert oct(key.stat().st_mode)[-3:] == "600" and oct(cert.stat().st_mode)[-3:] == "644"
    if not new_key:
        assert key.read_bytes() == before  # renewed with the same key
    from cryptography import x509

    parsed = x509.load_pem_x509_certificate(cert.read_bytes())
    assert parsed.serial_number > 0
    assert parsed.not_valid_after_utc - parsed.not_valid_before_utc <= dt.timedelta(days=397)
    san = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mail.example.test"]

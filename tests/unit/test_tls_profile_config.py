"""The TLS profile (Mozilla intermediate or modern) as Postfix, Dovecot and openssl read the rendered files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyinfra_deploys.place import render
from pyinfra_deploys.settings import load_settings
from tests.unit.test_postfix_templates import postconf, write_config

needs_postconf = pytest.mark.skipif(shutil.which("postconf") is None, reason="needs Postfix's postconf")
needs_doveconf = pytest.mark.skipif(shutil.which("doveconf") is None, reason="needs Dovecot's doveconf (dovecot-core)")


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
    values = doveconf(tmp_path, sample)
    assert values["ssl_min_protocol"] == "TLSv1.2"
    assert values["ssl_cipher_list"] == load_settings(sample).tls.ciphers
    assert values["ssl_curve_list"] == "X25519:prime256v1:secp384r1"
    assert values["ssl_prefer_server_ciphers"] == "yes"


@needs_doveconf
def test_dovecot_modern_is_tls_1_3_only(tmp_path: Path, sample: dict[str, Any]) -> None:
    assert doveconf(tmp_path, dict(sample, tls={"profile": "modern"}))["ssl_min_protocol"] == "TLSv1.3"

"""The test CA and the fake smarthost's certificate from it (what the VM's Postfix verifies)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from february.vm.world_process import BASE_ZONE
from february.world.certs import ca_signed, make_ca


def test_the_relay_certificate_verifies_against_the_test_ca_only(tmp_path: Path) -> None:
    assert make_ca(tmp_path / "ca.pem", tmp_path / "ca.key")
    assert not make_ca(tmp_path / "ca.pem", tmp_path / "ca.key")  # kept while usable
    names = ["relay.example.net", "10.0.2.100"]
    assert ca_signed(tmp_path / "relay.pem", tmp_path / "relay.key", tmp_path / "ca.pem", tmp_path / "ca.key", names)
    assert not ca_signed(tmp_path / "relay.pem", tmp_path / "relay.key", tmp_path / "ca.pem", tmp_path / "ca.key", names)
    assert oct((tmp_path / "relay.key").stat().st_mode)[-3:] == "600"
    ok = [
        "openssl",
        "verify",
        "-CAfile",
        str(tmp_path / "ca.pem"),
        "-verify_hostname",
        "relay.example.net",
        str(tmp_path / "relay.pem"),
    ]
    assert subprocess.run(ok, capture_output=True).returncode == 0
    ip = ["openssl", "verify", "-CAfile", str(tmp_path / "ca.pem"), "-verify_ip", "10.0.2.100", str(tmp_path / "relay.pem")]
    assert subprocess.run(ip, capture_output=True).returncode == 0
    other = tmp_path / "other"
    make_ca(other / "ca.pem", other / "ca.key")
    wrong = ["openssl", "verify", "-CAfile", str(other / "ca.pem"), str(tmp_path / "relay.pem")]
    assert subprocess.run(wrong, capture_output=True).returncode != 0
    # A new CA makes a new relay certificate.
    assert ca_signed(tmp_path / "relay.pem", tmp_path / "relay.key", other / "ca.pem", other / "ca.key", names)


def test_the_fake_dns_knows_the_relay() -> None:
    assert "relay.example.net. 300 IN A 10.0.2.100" in BASE_ZONE.splitlines()

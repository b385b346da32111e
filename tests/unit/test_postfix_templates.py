"""The rendered Postfix configuration, checked by the real postconf."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyinfra_deploys.place import render
from pyinfra_deploys.settings import load_settings

SEED_MAIN_CF = Path(__file__).resolve().parent.parent / "data" / "seed" / "main.cf"

MOZILLA_TLS12 = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)

# Parameters the deploy adds to the seed's main.cf, each for a stated reason
# (see the comments in files/etc/postfix/main.cf.j2).
ADDED = {
    "compatibility_level": "3.6",
    "alias_maps": "hash:/etc/aliases",
    "alias_database": "hash:/etc/aliases",
    "virtual_mailbox_maps": "hash:/etc/postfix/virtual_mailboxes",
    "smtpd_tls_auth_only": "yes",
    "smtpd_forbid_bare_newline": "yes",
    "smtpd_forbid_unauth_pipelining": "yes",
    "mailbox_size_limit": "0",
    # Verify the relay (smarthost.tls_verify) and the TLS profile (tls.profile).
    "smtp_tls_secure_cert_match": "nexthop",
    "smtpd_tls_exclude_ciphers": "aNULL, eNULL",
    "smtpd_tls_mandatory_ciphers": "high",
    "tls_high_cipherlist": MOZILLA_TLS12,
    "tls_eecdh_auto_curves": "X25519 prime256v1 secp384r1",
    "tls_preempt_cipherlist": "yes",
    # Anvil limits on port 25 (limits.*).
    "smtpd_client_connection_rate_limit": "30",
    "smtpd_client_message_rate_limit": "60",
    "smtpd_client_connection_count_limit": "10",
}
# Seed parameters the deploy deliberately changes (README: "Where this differs").
CHANGED = {"smtp_tls_security_level": "secure"}

pytestmark = pytest.mark.skipif(shutil.which("postconf") is None, reason="needs Postfix's postconf (.ci/run installs it)")


def postconf(config_dir: Path, *args: str) -> dict[str, str]:
    """Run postconf against a config dir; any warning on stderr fails the test."""
    done = subprocess.run(["postconf", "-c", str(config_dir), *args], capture_output=True, text=True, check=True)
    assert done.stderr == "", done.stderr
    parameters: dict[str, str] = {}
    for line in done.stdout.splitlines():
        name, _, value = line.partition("=")
        parameters[name.strip()] = value.strip()
    parameters.pop("config_directory", None)  # set by -c itself
    return parameters


def write_config(folder: Path, settings_data: dict[str, Any]) -> Path:
    settings = load_settings(settings_data)
    folder.mkdir(exist_ok=True)
    (folder / "main.cf").write_text(render("/etc/postfix/main.cf", s=settings))
    (folder / "master.cf").write_text(render("/etc/postfix/master.cf", s=settings))
    return folder


def test_every_seed_parameter_has_the_seed_value(tmp_path: Path, sample: dict[str, Any]) -> None:
    seed_dir = tmp_path / "seed"
    seed_dir.mkdir()
    shutil.copy(SEED_MAIN_CF, seed_dir / "main.cf")
    (seed_dir / "master.cf").write_text("")
    seed = postconf(seed_dir, "-n")
    rendered = postconf(write_config(tmp_path / "rendered", sample), "-n")
    assert len(seed) >= 40
    for name, value in seed.items():
        assert rendered.get(name) == CHANGED.get(name, value), name
    assert {name: rendered[name] for name in set(rendered) - set(seed)} == ADDED


def test_settings_change_what_they_name(tmp_path: Path, sample: dict[str, Any]) -> None:
    data = dict(
        sample,
        hostname="mx.other.test",
        domain="other.test",
        virtual_domains=["other.test"],
        mailboxes={},
        aliases={},
        message_size_limit=10485760,
        banner="$myhostname ready",
    )
    data["smarthost"] = dict(sample["smarthost"], host="10.0.2.100", port=2525)
    rendered = postconf(write_config(tmp_path / "c", data), "-n")
    assert rendered["myhostname"] == "mx.other.test"
    assert rendered["mydomain"] == "other.test"
    assert rendered["relayhost"] == "[10.0.2.100]:2525"
    assert rendered["message_size_limit"] == "10485760"
    assert rendered["smtpd_banner"] == "$myhostname ready"


def test_without_a_smarthost_mail_goes_direct_and_no_sasl_client_is_set(tmp_path: Path, sample: dict[str, Any]) -> None:
    data = dict(sample, smarthost=None)
    rendered = postconf(write_config(tmp_path / "c", data), "-n")
    assert rendered["relayhost"] == ""
    assert "smtp_sasl_auth_enable" not in rendered
    assert rendered["smtp_tls_security_level"] == "may"


def test_master_cf_enables_the_seed_submission_service(tmp_path: Path, sample: dict[str, Any]) -> None:
    config = write_config(tmp_path / "c", sample)
    done = subprocess.run(["postconf", "-c", str(config), "-P", "submission/inet"], capture_output=True, text=True, check=True)
    assert done.stderr == ""
    options = {}
    for line in done.stdout.splitlines():  # submission/inet/NAME = VALUE ("NAME =" when empty)
        key, _, value = line.partition(" =")
        options[key.split("/", 2)[2]] = value.strip()
    assert options == {
        "syslog_name": "postfix/submission",
        "smtpd_tls_security_level": "encrypt",
        "smtpd_sasl_auth_enable": "yes",
        "smtpd_tls_auth_only": "yes",
        "smtpd_helo_restrictions": "",
        "smtpd_reject_unlisted_recipient": "no",
        "smtpd_relay_restrictions": "permit_sasl_authenticated,reject",
        "milter_macro_daemon_name": "ORIGINATING",
        "smtpd_client_connection_rate_limit": "0",
        "smtpd_client_message_rate_limit": "0",
    }
    services = subprocess.run(["postconf", "-c", str(config), "-M"], capture_output=True, text=True, check=True).stdout
    assert any(line.split()[:5] == ["submission", "inet", "n", "-", "y"] for line in services.splitlines())


def test_lookup_tables_postmap_cleanly(tmp_path: Path, sample: dict[str, Any]) -> None:
    settings = load_settings(sample)
    (tmp_path / "main.cf").write_text("")
    for name, context in {
        "virtual_mailboxes": {"s": settings},
        "virtual_aliases": {"s": settings},
        "sasl_passwd": {"s": settings, "smarthost_password": "pw"},
    }.items():
        table = tmp_path / name
        table.write_text(render(f"/etc/postfix/{name}", **context))
        subprocess.run(["postmap", "-c", str(tmp_path), f"hash:{table}"], check=True, capture_output=True)
    query = subprocess.run(
        ["postmap", "-c", str(tmp_path), "-q", "postmaster@yourdomain.com", f"hash:{tmp_path / 'virtual_aliases'}"],
        capture_output=True,
        text=True,
    )
    assert query.stdout.strip() == "you@yourdomain.com"
    relay = subprocess.run(
        ["postmap", "-c", str(tmp_path), "-q", "[smtp.fastmail.com]:587", f"hash:{tmp_path / 'sasl_passwd'}"],
        capture_output=True,
        text=True,
    )
    assert relay.stdout.strip() == "you@fastmail.com:pw"

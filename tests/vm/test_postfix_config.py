"""The seed's main.cf parameters, as the VM's Postfix actually loaded them (postconf -n there)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.vm.mailvm import MailVm

SEED_MAIN_CF = Path(__file__).resolve().parent.parent / "data" / "seed" / "main.cf"

# What the VM inventory sets differently from the seed article, on purpose:
# its own names and the fake smarthost in place of Fastmail, whose
# certificate is verified (the deploy's default) against the test CA.
SET_BY_THE_VM_SETTINGS = {
    "myhostname": "mail.example.test",
    "mydomain": "example.test",
    "relayhost": "[relay.example.net]:2525",
    "smtp_tls_security_level": "secure",
    "smtp_tls_CAfile": "/etc/postfix/smarthost-ca.pem",
}


def parameters(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in text.splitlines():
        name, _, value = line.partition("=")
        found[name.strip()] = value.strip()
    found.pop("config_directory", None)
    return found


@pytest.mark.skipif(shutil.which("postconf") is None, reason="needs Postfix's postconf on the host to read the seed")
def test_every_seed_parameter_is_loaded_with_the_seed_value(mailvm: MailVm, tmp_path: Path) -> None:
    shutil.copy(SEED_MAIN_CF, tmp_path / "main.cf")
    (tmp_path / "master.cf").write_text("")
    seed = parameters(subprocess.run(["postconf", "-c", str(tmp_path), "-n"], capture_output=True, text=True, check=True).stdout)
    loaded = parameters(mailvm.run("postconf -n").stdout)
    assert len(seed) >= 40
    for name, value in seed.items():
        assert loaded.get(name) == SET_BY_THE_VM_SETTINGS.get(name, value), name


def test_the_submission_service_is_loaded_as_the_seed_gives_it(mailvm: MailVm) -> None:
    services = mailvm.run("postconf -M submission/inet").stdout.split()
    assert services[:8] == ["submission", "inet", "n", "-", "y", "-", "-", "smtpd"]
    options = mailvm.run(
        "postconf -P 'submission/inet/smtpd_relay_restrictions' 'submission/inet/smtpd_tls_security_level'"
    ).stdout
    assert "submission/inet/smtpd_relay_restrictions = permit_sasl_authenticated,reject" in options
    assert "submission/inet/smtpd_tls_security_level = encrypt" in options

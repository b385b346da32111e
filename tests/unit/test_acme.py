"""ACME (tls.source: acme): certbot's request for a host, the february-acme script run by a real shell, the status line.

The script runs here with a stand-in ``certbot`` on PATH that records the
arguments it was given: the request file is shell-quoted by the deploy and
read back with ``eval``, so an argument with a space (the deploy hook) must
arrive whole. The host's paths are swapped for a temporary folder.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyinfra_deploys import layout
from pyinfra_deploys.host import february_status
from pyinfra_deploys.place import render
from pyinfra_deploys.roles.acme import request_args, request_text
from pyinfra_deploys.settings import load_settings
from pyinfra_deploys.settings.errors import SettingsError
from pyinfra_deploys.settings.model import Acme

ACME = Acme(email="postmaster@yourdomain.com", dns_plugin="rfc2136", credentials_file=Path("acme.ini"))
FAKE_CERTBOT = """#!/bin/sh
for arg in "$@"; do printf '%s\\n' "$arg"; done > "$RECORD"
exit "${FAKE_STATUS:-0}"
"""


def script_here(folder: Path) -> Path:
    """The rendered script, its host paths moved into ``folder``."""
    text = render(layout.ACME_SCRIPT)
    for path in (layout.ACME_STATUS, layout.ACME_REQUEST, layout.ACME_SERVER_CA, layout.RECORDS_DIR):
        text = text.replace(path, str(folder / Path(path).name))
    script = folder / "february-acme"
    script.write_text(text)
    return script


def run(folder: Path, *args: str, status: int = 0) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    certbot = bin_dir / "certbot"
    certbot.write_text(FAKE_CERTBOT)
    certbot.chmod(certbot.stat().st_mode | stat.S_IXUSR)
    record = folder / "args"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "RECORD": str(record), "FAKE_STATUS": str(status)}
    done = subprocess.run(["sh", str(script_here(folder)), *args], capture_output=True, text=True, env=env)
    return done, record.read_text().splitlines() if record.exists() else []


def test_issue_hands_certbot_the_request_word_for_word(tmp_path: Path) -> None:
    (tmp_path / Path(layout.ACME_REQUEST).name).write_text(request_text(ACME, "mail.yourdomain.com"))
    done, args = run(tmp_path, "issue", "--force-renewal")
    assert done.returncode == 0, done.stderr
    assert args == ["--non-interactive", "certonly", *request_args(ACME, "mail.yourdomain.com"), "--force-renewal"]
    assert args[args.index("--deploy-hook") + 1] == f"{layout.ACME_SCRIPT} deploy"
    assert (tmp_path / Path(layout.ACME_STATUS).name).read_text().split()[0] == "ok"


def test_a_failed_renewal_is_recorded_and_its_status_passed_on(tmp_path: Path) -> None:
    done, args = run(tmp_path, "renew", status=1)
    assert done.returncode == 1
    assert args == ["--non-interactive", "renew", "--no-random-sleep-on-renew"]
    outcome, when = (tmp_path / Path(layout.ACME_STATUS).name).read_text().split()
    assert outcome == "failed" and when.isdigit()


def test_a_private_acme_servers_ca_is_trusted_only_when_given(tmp_path: Path) -> None:
    text = render(layout.ACME_SCRIPT)
    assert f"if [ -f {layout.ACME_SERVER_CA} ]; then" in text
    assert f"export REQUESTS_CA_BUNDLE={layout.ACME_SERVER_CA}" in text


def test_the_request_names_the_plugin_its_credentials_and_waits_only_when_set() -> None:
    args = request_args(ACME, "mail.yourdomain.com")
    assert args[args.index("--authenticator") + 1] == "dns-rfc2136"
    assert args[args.index("--dns-rfc2136-credentials") + 1] == layout.ACME_CREDENTIALS
    assert not any("propagation" in arg for arg in args)
    waiting = request_args(ACME.model_copy(update={"propagation_seconds": 0}), "mail.yourdomain.com")
    assert waiting[waiting.index("--dns-rfc2136-propagation-seconds") + 1] == "0"
    assert args[args.index("--cert-name") + 1] == layout.ACME_LINEAGE
    assert args[args.index("--domain") + 1] == "mail.yourdomain.com"


@pytest.mark.parametrize(
    ("record", "level", "words"),
    [
        (None, "warning", "no ACME issue or renewal recorded yet"),
        ("ok 1790000000\n", "ok", "succeeded (2026-09-21"),
        ("failed 1790000000\n", "error", "failed (2026-09-21"),
        ("garbage", "warning", "no ACME issue"),
    ],
)
def test_the_renewal_line(record: str | None, level: str, words: str) -> None:
    line = february_status.renewal_result(record, layout.ACME_SERVICE)
    assert (line["section"], line["name"], line["level"]) == ("Certificate", "renewal", level)
    assert words in line["message"]


@pytest.mark.parametrize(
    ("content", "mode", "words"),
    [("   \n", 0o600, "is empty"), ("dns_rfc2136_secret = x\n", 0o644, "600"), ("a\0b", 0o600, "NUL")],
)
def test_the_credentials_file_is_checked_as_a_secret(
    sample: dict[str, Any], secrets_dir: Path, content: str, mode: int, words: str
) -> None:
    path = secrets_dir / "acme.ini"
    path.write_text(content)
    path.chmod(mode)
    acme = {"email": "postmaster@yourdomain.com", "dns_plugin": "rfc2136", "credentials_file": str(path)}
    with pytest.raises(SettingsError) as caught:
        load_settings({**sample, "tls": {"source": "acme", "acme": acme}})
    problems = dict(caught.value.problems)
    assert words in problems["tls.acme.credentials_file"], problems

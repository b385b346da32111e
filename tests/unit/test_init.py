"""`february init DIR` writes a new site that `february check` accepts, its secrets owner-only, and never overwrites one."""

from __future__ import annotations

import os
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from tests import cli

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl owner@laptop"


def february(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return cli.february(*args, stdin=stdin, timeout=120)


def init(folder: Path, *extra: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return february(
        "init",
        str(folder),
        "--hostname",
        "mail.example.org",
        "--mailbox",
        "alice@example.org",
        "--ssh-key",
        KEY,
        *extra,
        stdin=stdin,
    )


def test_a_site_from_flags_and_standard_input_passes_check_with_owner_only_secrets(tmp_path: Path) -> None:
    mailbox_password, relay_password = f"mailbox-{uuid.uuid4().hex}", f"relay-{uuid.uuid4().hex}"
    folder = tmp_path / "site"
    done = init(
        folder,
        "--mailbox",
        "bob@example.org",
        "--relay",
        "smtp.example.net:2587",
        "--relay-user",
        "me@example.net",
        "--relay-spf",
        "spf.example.net",
        "--backup-repository",
        "/srv/backup/february",
        "--lan",
        "192.168.7.0/24",
        stdin=f"{mailbox_password}\nbob-{mailbox_password}\n{relay_password}\n",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "example.org. 300 IN MX 10 mail.example.org." in done.stdout
    assert '"v=spf1 mx include:spf.example.net ~all"' in done.stdout
    kept = folder / "secrets"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700
    assert sorted(p.name for p in kept.iterdir()) == [
        "alice@example.org.hash",
        "backup.password",
        "bob@example.org.hash",
        "smarthost.password",
    ]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in kept.iterdir())
    assert (kept / "smarthost.password").read_text() == relay_password + "\n"
    # The hash is of the password given: openssl gives the same hash for the same salt.
    hashed = (kept / "alice@example.org.hash").read_text().strip()
    salt = hashed.split("$")[2]
    again = subprocess.run(
        ["openssl", "passwd", "-6", "-salt", salt, "-stdin"], input=mailbox_password, capture_output=True, text=True
    )
    assert again.stdout.strip() == hashed
    # No password outside the secrets folder, nor in what was printed.
    for path in [folder / "hosts.py", folder / "group_data" / "all.py"]:
        assert mailbox_password not in path.read_text() and relay_password not in path.read_text()
    assert mailbox_password not in done.stdout + done.stderr and relay_password not in done.stdout + done.stderr
    checked = february("check", "-i", str(folder / "hosts.py"), "--host", "mail.example.org")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "settings valid for mail.example.org (domains: example.org)" in checked.stdout


def test_a_folder_that_holds_anything_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    done = init(tmp_path, stdin="pw\n")
    assert done.returncode == 2 and "a site is never overwritten" in done.stderr
    assert os.listdir(tmp_path) == ["notes.txt"]


def test_a_hostile_answer_is_refused_naming_its_key_and_nothing_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    done = february(
        "init",
        str(folder),
        "--hostname",
        "mail.example.org\nmydestination = evil",
        "--mailbox",
        "alice@example.org",
        "--ssh-key",
        KEY,
        stdin="pw\n",
    )
    assert done.returncode == 2 and "hostname" in done.stderr, done.stderr
    assert not folder.exists()


def test_a_relay_without_its_spf_senders_is_refused(tmp_path: Path) -> None:
    done = init(tmp_path / "site", "--relay", "smtp.example.net", "--relay-user", "me@example.net", stdin="pw\npw\n")
    assert done.returncode == 2 and "--relay-spf" in done.stderr
    assert not (tmp_path / "site").exists()


def test_the_old_positional_inventory_still_works_with_a_note(tmp_path: Path) -> None:
    folder = tmp_path / "site"
    assert init(folder, stdin="pw\n").returncode == 0
    done = february("check", str(folder / "hosts.py"))
    assert done.returncode == 0 and "write `february check -i" in done.stderr.replace("\n", " ")


def test_a_bad_value_inside_a_command_is_one_usage_error_not_a_traceback(tmp_path: Path) -> None:
    """typer carries its own copy of click's errors: a BadParameter raised in a command body exits 2 with one line."""
    folder = tmp_path / "site"
    assert init(folder, stdin="pw\n").returncode == 0
    done = february("dns", "-i", str(folder / "hosts.py"), "--address", "not-an-address")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "Invalid value for --address: 'not-an-address' is not an IP address" in done.stderr


@pytest.mark.parametrize(
    ("flag", "value", "named"),
    [
        ("--admin-user", "root; reboot", "ssh_user"),
        ("--ssh-key", "ssh-ed25519 AAAA x\nevil", "february_admin_ssh_key"),
        ("--ssh-key", "/nonexistent/id.pub", "february_admin_ssh_key"),
        ("--address", "box.lan\nProxyCommand evil", "address"),
        ("--address", "", "address"),
        ("--domain", "", "february.domain"),
    ],
)
def test_a_hostile_identity_is_refused_naming_its_key_and_nothing_is_written(
    tmp_path: Path, flag: str, value: str, named: str
) -> None:
    folder = tmp_path / "site"
    done = init(folder, flag, value, stdin="pw\n")
    assert done.returncode == 2 and named in done.stderr, done.stderr
    assert not folder.exists()


def test_a_key_file_is_kept_as_its_line(tmp_path: Path) -> None:
    """The site keeps the key itself: a path would be read from wherever a later command runs."""
    pub = tmp_path / "id_ed25519.pub"
    pub.write_text(KEY + "\n")
    folder = tmp_path / "site"
    assert init(folder, "--ssh-key", str(pub), stdin="pw\n").returncode == 0
    assert repr(KEY) in (folder / "hosts.py").read_text() and str(pub) not in (folder / "hosts.py").read_text()

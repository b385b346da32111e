"""generalize.sh on a root directory: the base layer's way of calling it (Packer's, on the running system, is a bake).

The script runs as the current user, root here: so every test gives it a
root under tmp_path and checks that the machine's own files stayed as they
were. Its February paths come from pyinfra_deploys/layout.py through its
environment (images/generalize.py), as both callers pass them.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from images.generalize import GENERALIZE, generalize_env, generalize_hook
from images.packer_stream import packer_env
from images.pipeline import PACKER_DIR

# This machine's identity files: a generalize that escaped its root would change them.
REAL = (
    "/etc/machine-id",
    "/etc/hostname",
    "/var/lib/dbus/machine-id",
    "/etc/ssh/ssh_host_ed25519_key",
    "/etc/ssh/ssh_host_rsa_key",
)

REMOVED = (
    "etc/ssh/ssh_host_ed25519_key",
    "etc/ssh/ssh_host_ed25519_key.pub",
    "etc/ssh/ssh_host_rsa_key",
    "var/lib/dbus/machine-id",
    "var/lib/systemd/random-seed",
    "etc/ssl/private/ssl-cert-snakeoil.key",
    "etc/ssl/certs/ssl-cert-snakeoil.pem",
    "var/lib/cloud/instances/iid-bake/user-data.txt",
    "var/lib/cloud/data/instance-id",
    "var/log/cloud-init.log",
    "var/log/cloud-init-output.log",
    "var/log/syslog.1",
    "var/log/apt/history.log.1.gz",
    "var/log/journal/0123abcd/system.journal",
    "etc/ssl/mail/mail.key",
    "etc/ssl/mail/mail.crt",
    "var/lib/rspamd/dkim/example.test.dkim.key",
    "var/lib/rspamd/dkim/example.test.dkim.txt",
    "etc/postfix/sasl_passwd",
    "etc/postfix/sasl_passwd.db",
    "var/lib/february/debconf",
    "var/lib/february/converged",
    "etc/february/backup/restic.password",
    "var/vmail/example.test/owner/Maildir/new/1700000000.M1P1.mail",
    "root/.ssh/authorized_keys",
    "root/.ssh/known_hosts",
    "root/.bash_history",
    "home/admin/.ssh/authorized_keys",
    "home/admin/.bash_history",
    "var/cache/apt/archives/postfix_3.7.11_amd64.deb",
    "var/cache/apt/archives/partial/rspamd.deb",
    "var/cache/apt/pkgcache.bin",
    "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
    "var/tmp/february-stage/bake.sh",
)
EMPTIED = ("etc/machine-id", "var/log/dpkg.log", "var/log/apt/history.log")
KEPT = {
    "etc/ssh/sshd_config": "PermitRootLogin prohibit-password\n",
    "etc/ssl/certs/ca-certificates.crt": "-----BEGIN CERTIFICATE-----\n",
    "etc/postfix/main.cf": "myhostname = localhost\n",
    "etc/dovecot/users": "# filled by the first converge\n",
    "home/admin/notes.txt": "mine\n",
    # The caller's own files: mmdebstrap keeps its apt configuration in ROOT/tmp.
    "tmp/mmdebstrap.apt.conf.abc123": 'Dir "/build/root";\n',
}


def fake_root(root: Path) -> Path:
    """A baked system's per-host files under ``root``; every file holds a line of text."""
    for name in (*REMOVED, *EMPTIED):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"per-host content of /{name}\n")
    for name, text in KEPT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "etc/hostname").write_text("february-bake\n")
    return root


def outside_links(root: Path, outside: Path) -> None:
    """Links out of the root, as cloud-init makes one (/var/lib/cloud/instance, absolute): never followed."""
    (outside / "instance").mkdir(parents=True)
    (outside / "instance" / "obj.pkl").write_text("outside\n")
    (outside / "hostkey").write_text("outside\n")
    (outside / "log").mkdir()
    (outside / "log" / "kept.log").write_text("outside\n")
    (root / "var/lib/cloud/instance").symlink_to(outside / "instance")
    (root / "etc/ssh/ssh_host_ecdsa_key").symlink_to(outside / "hostkey")
    (root / "var/log/elsewhere").symlink_to(outside / "log")


def real_state() -> dict[str, tuple[str, int]]:
    state: dict[str, tuple[str, int]] = {}
    for name in REAL:
        path = Path(name)
        if path.is_file():
            state[name] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
    return state


# The caller's environment without February's paths: each test passes them as a caller does, or not at all.
BARE = {name: value for name, value in os.environ.items() if not name.startswith("FEBRUARY_")}


def generalize(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(GENERALIZE), *args], capture_output=True, text=True, env={**BARE, **generalize_env()}, timeout=60
    )


def hook(root: Path) -> subprocess.CompletedProcess[str]:
    """The base layer's customize hook, run as mmdebstrap runs one: ``sh -c HOOK exec ROOT``."""
    return subprocess.run(
        ["sh", "-c", generalize_hook(), "exec", str(root)], capture_output=True, text=True, env=BARE, timeout=60
    )


def test_a_root_directory_is_generalized_and_nothing_outside_it_is_touched(tmp_path: Path) -> None:
    root = fake_root(tmp_path / "root")
    outside = tmp_path / "outside"
    outside_links(root, outside)
    before = real_state()
    assert before, "none of this machine's identity files exists to watch"

    done = hook(root)

    assert done.returncode == 0, done.stderr
    assert [name for name in REMOVED if (root / name).exists()] == []
    assert {name: (root / name).read_text() for name in EMPTIED} == dict.fromkeys(EMPTIED, "")
    assert {name: (root / name).read_text() for name in KEPT} == KEPT
    assert (root / "etc/hostname").read_text() == "localhost\n"
    assert (root / "etc/ssl/mail").is_dir() and not any((root / "etc/ssl/mail").iterdir())
    assert (root / "var/lib/rspamd/dkim").is_dir() and not any((root / "var/lib/rspamd/dkim").iterdir())
    assert (root / "var/vmail").is_dir() and not any((root / "var/vmail").iterdir())
    assert not (root / "var/lib/february").exists() and not (root / "etc/february/backup").exists()
    assert not any((root / "var/lib/cloud").iterdir())
    assert not (root / "var/lib/cloud/instance").is_symlink() and not (root / "etc/ssh/ssh_host_ecdsa_key").is_symlink()
    assert (root / "var/log/elsewhere").is_symlink()
    assert {p.name: p.read_text() for p in outside.rglob("*") if p.is_file()} == dict.fromkeys(
        ["obj.pkl", "hostkey", "kept.log"], "outside\n"
    )
    assert real_state() == before


def test_password_hashes_left_by_a_bake_fail_it(tmp_path: Path) -> None:
    root = fake_root(tmp_path / "root")
    (root / "etc/dovecot/users").write_text("owner@example.test:{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA::::::\n")
    before = real_state()

    done = generalize(str(root))

    assert done.returncode == 1
    assert f"{root}/etc/dovecot/users holds password hashes after a bake" in done.stderr
    assert real_state() == before


def no_commands(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """generalize.sh without a PATH: had it gone on, its first external command (shred, rm) would fail instead."""
    env = {**generalize_env(), **env}
    return subprocess.run(
        ["/bin/sh", str(GENERALIZE), *args], capture_output=True, text=True, env={"PATH": "/nonexistent", **env}, timeout=60
    )


def test_an_empty_root_argument_is_refused_before_anything_runs() -> None:
    done = no_commands("")
    assert done.returncode == 2 and "usage: generalize.sh [ROOT]" in done.stderr
    assert "ssh_host" not in done.stderr


def test_a_root_that_does_not_exist_stops_it_before_anything_runs(tmp_path: Path) -> None:
    done = no_commands(str(tmp_path / "missing"))
    assert done.returncode != 0
    assert "ssh_host" not in done.stderr


def test_without_february_paths_it_refuses_before_anything_runs(tmp_path: Path) -> None:
    root = fake_root(tmp_path / "root")
    done = subprocess.run(["sh", str(GENERALIZE), str(root)], capture_output=True, text=True, env=BARE, timeout=60)
    assert done.returncode == 2 and "FEBRUARY_EMPTIED, FEBRUARY_REMOVED and FEBRUARY_NO_HASHES" in done.stderr
    assert [name for name in REMOVED if not (root / name).exists()] == []


@pytest.mark.parametrize("bad", ["/", "var/vmail", "/var/../etc", "/var/vmail/", "/var/*", "/var/$(reboot)"])
def test_a_path_that_is_not_plain_and_absolute_is_refused_before_anything_runs(tmp_path: Path, bad: str) -> None:
    done = no_commands(str(tmp_path), FEBRUARY_REMOVED=bad)
    assert done.returncode == 2 and "not a plain absolute path" in done.stderr
    assert "ssh_host" not in done.stderr


def test_the_packer_bake_passes_every_path_from_its_environment(tmp_path: Path) -> None:
    """packer_env carries them, variables.pkr.hcl reads each with env(), the generalize provisioner passes each on."""
    env = packer_env(tmp_path, tmp_path / "cache")
    build = (PACKER_DIR / "build.pkr.hcl").read_text()
    variables = (PACKER_DIR / "variables.pkr.hcl").read_text()
    provisioner = build[build.index('script = "${path.root}/../generalize.sh"') - 400 :]
    for name, value in generalize_env().items():
        assert env[name] == value
        variable = re.search(rf'variable "(\w+)" {{[^}}]*default\s*=\s*env\("{name}"\)', variables)
        assert variable, name
        assert f'"{name}=${{var.{variable[1]}}}"' in provisioner

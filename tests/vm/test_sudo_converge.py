"""The real inventory's shape: a converge as a sudo user (ssh_user + _sudo), as on Ubuntu cloud images.

While it runs, an unprivileged user on the VM reads everything it can where
a secret passes (pyinfra's staging copies, the destinations): no secret
may be readable by others at any moment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from february.paths import REPO
from pyinfra_deploys import layout
from tests.vm.mailvm import MailVm, sudo_inventory
from tests.vm.test_reconverge import grand_total

ADMIN = "owner"
SECRET_FILES = ("/etc/postfix/sasl_passwd", "/etc/postfix/sasl_passwd.db", "/etc/dovecot/users", layout.BACKUP_PASSWORD)
# Everything another local user could try: pyinfra's default staging, ours, the destinations.
WATCHED = "/tmp/pyinfra-* /var/tmp/pyinfra-* /var/tmp/february-stage-*/* " + " ".join(SECRET_FILES)


def converge_as_admin(inventory: Path) -> list[str]:
    argv = [sys.executable, "-m", "pyinfra", "-y", str(inventory), "deploy.py"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return (done.stdout + done.stderr).splitlines()  # pyinfra prints its results table on stderr


def test_a_sudo_user_converges_and_no_secret_is_ever_readable_by_others(mailvm: MailVm, tmp_path: Path) -> None:
    mailvm.run(
        f"id {ADMIN} >/dev/null 2>&1 || useradd -m -s /bin/bash {ADMIN}; "
        f"install -d -m 700 -o {ADMIN} -g {ADMIN} /home/{ADMIN}/.ssh; "
        f"install -m 600 -o {ADMIN} -g {ADMIN} /root/.ssh/authorized_keys /home/{ADMIN}/.ssh/authorized_keys; "
        f"echo '{ADMIN} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-{ADMIN} && chmod 440 /etc/sudoers.d/90-{ADMIN}"
    )
    secrets = [
        mailvm.config.secrets.joinpath(name).read_text().strip()
        for name in ("smarthost.password", "restic.password", "alice@example.test.hash")
    ]
    # The secrets go, so the converge has to write every one of them again.
    mailvm.run("rm -f " + " ".join(SECRET_FILES))
    mailvm.run(
        "rm -f /tmp/watch.out /tmp/watch.stop; "
        "nohup runuser -u nobody -- sh -c "
        f"'while [ ! -e /tmp/watch.stop ]; do echo tick; cat {WATCHED} 2>/dev/null; done' > /tmp/watch.out 2>&1 &"
    )
    try:
        lines = converge_as_admin(sudo_inventory(tmp_path, mailvm.config, ADMIN))
    finally:
        mailvm.run("touch /tmp/watch.stop; sleep 1")
    assert grand_total(lines)[2] == 0
    ticks = int(mailvm.run("grep -c '^tick$' /tmp/watch.out").stdout)
    assert ticks > 50, "the watcher barely ran"
    for secret in secrets:
        assert mailvm.run(f"grep -caF -e {secret!r} /tmp/watch.out", check=False).stdout.strip() == "0"
    for path in SECRET_FILES:
        assert mailvm.host.file(path).exists, path
        assert mailvm.host.file(path).mode & 0o007 == 0, path
    assert mailvm.host.file(f"/var/tmp/february-stage-{ADMIN}").mode == 0o700


def test_a_second_converge_as_the_sudo_user_changes_nothing(mailvm: MailVm, tmp_path: Path) -> None:
    assert grand_total(converge_as_admin(sudo_inventory(tmp_path, mailvm.config, ADMIN)))[1:3] == (0, 0)

"""Backups with restic on the VM, driven the way an owner drives them: `february backup -i INV`.

The VM inventory keeps its repository in /srv/backup/february, where the
session mounts the owner's backup disk. The restore is the owner's path
(tests/image/test_owner_path.py): this VM's last backup onto a flashed host.
"""

from __future__ import annotations

import json
import uuid

import pytest

from february.paths import REPO
from pyinfra_deploys import layout
from tests.cli import february
from tests.vm.mailvm import MailVm, message
from tests.vm.test_status import report

INVENTORY = str(REPO / "inventory" / "vm.py")
MAILDIR = "/var/vmail/example.test/alice/Maildir"


@pytest.fixture(scope="module")
def backed_up(mailvm: MailVm) -> str:
    """A message delivered, then `february backup now`; returns the message's subject."""
    subject = f"before the backup {uuid.uuid4().hex[:8]}"
    with mailvm.smtp() as client:
        client.send_message(message("someone@example.net", "alice@example.test", subject))
    mailvm.wait_for_message("alice@example.test", subject)
    done = february("backup", "now", "-i", INVENTORY)
    assert done.returncode == 0, done.stderr
    return subject


def test_the_backup_timer_is_scheduled(mailvm: MailVm) -> None:
    assert mailvm.run(f"systemctl is-enabled {layout.BACKUP_TIMER}").stdout.strip() == "enabled"
    assert mailvm.run(f"systemctl is-active {layout.BACKUP_TIMER}").stdout.strip() == "active"
    calendar = mailvm.run(f"systemctl show -p TimersCalendar {layout.BACKUP_TIMER}").stdout
    assert "03:15:00" in calendar


def test_the_repository_password_is_owner_only(mailvm: MailVm) -> None:
    assert mailvm.host.file(layout.BACKUP_PASSWORD).mode == 0o600
    assert mailvm.host.file(layout.BACKUP_DIR).mode == 0o700


def test_a_snapshot_holds_exactly_the_declared_state(mailvm: MailVm, backed_up: str) -> None:
    status = mailvm.run("/usr/local/sbin/february-backup status").stdout.splitlines()
    assert status[0].isdigit()
    snapshots = json.loads("\n".join(status[1:]))
    assert snapshots and sorted(snapshots[-1]["paths"]) == sorted(layout.STATE_PATHS)
    # encrypted: the repository holds no plain mail
    assert mailvm.run(f"grep -rl '{backed_up}' /srv/backup/february", check=False).stdout == ""


def test_backup_list_shows_the_snapshot_and_the_age_of_the_last_success(backed_up: str) -> None:
    done = february("backup", "list", "-i", INVENTORY)
    assert done.returncode == 0, done.stderr
    assert "last success:" in done.stderr and "h ago" in done.stderr
    assert "/var/vmail" in done.stderr


def test_a_failed_backup_fails_its_unit_and_shows_in_the_list(mailvm: MailVm, backed_up: str) -> None:
    mailvm.run("mv /srv/backup/february /srv/backup/february.away && touch /srv/backup/february")
    try:
        assert mailvm.run(f"systemctl start {layout.BACKUP_SERVICE}", check=False).returncode != 0
        assert mailvm.run(f"systemctl is-failed {layout.BACKUP_SERVICE}", check=False).stdout.strip() == "failed"
        done = february("backup", "list", "-i", INVENTORY)
        assert "the last backup run failed" in done.stderr
        assert "last success:" in done.stderr
        status, found = report(mailvm)
        assert status == 2
        assert found[("Backup", "last run")] == ("error", f"failed: journalctl -u {layout.BACKUP_SERVICE}")
        assert found[("Backup", "last success")][0] == "ok"
    finally:
        mailvm.run("rm -f /srv/backup/february && mv /srv/backup/february.away /srv/backup/february")
        mailvm.run(f"systemctl reset-failed {layout.BACKUP_SERVICE}")

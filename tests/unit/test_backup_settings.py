"""Backup settings: hostile values refused with the key named; the rendered script and units."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from pyinfra_deploys import layout
from pyinfra_deploys.place import render
from pyinfra_deploys.roles.backup import sftp_command
from pyinfra_deploys.settings import SettingsError, load_settings


@pytest.fixture
def with_backup(sample: dict[str, Any], secrets_dir: Path) -> dict[str, Any]:
    password = secrets_dir / "restic.password"
    password.write_text("restic-password-generated-at-test-time\n")
    password.chmod(0o600)
    data = copy.deepcopy(sample)
    data["backup"] = {"repository": "/srv/backup/february", "password_file": str(password)}
    return data


HOSTILE = [
    ("repository", "relative/path", "backup.repository"),
    ("repository", "/srv/backup\nExecStartPre=/bin/sh", "backup.repository"),
    ("repository", "/srv/backup/../../etc", "backup.repository"),
    ("repository", "/srv/back up", "backup.repository"),
    ("repository", '/srv/"quoted"', "backup.repository"),
    ("repository", "/srv/$(reboot)", "backup.repository"),
    ("repository", "sftp:user@host:/path\n", "backup.repository"),
    ("repository", "s3:s3.amazonaws.com/bucket", "backup.repository"),
    ("repository", "", "backup.repository"),
    ("schedule", "daily\nExecStart=/bin/sh", "backup.schedule"),
    ("schedule", "daily # comment", "backup.schedule"),
    ("schedule", " daily", "backup.schedule"),
    ("schedule", "", "backup.schedule"),
    ("keep_daily", True, "backup.keep_daily"),
    ("keep_daily", -1, "backup.keep_daily"),
    ("keep_weekly", "4", "backup.keep_weekly"),
    ("unknown", 1, "backup.unknown"),
]


@pytest.mark.parametrize(("key", "value", "named"), HOSTILE)
def test_a_hostile_backup_value_is_refused_naming_its_key(
    with_backup: dict[str, Any], key: str, value: object, named: str
) -> None:
    with_backup["backup"][key] = value
    with pytest.raises(SettingsError) as caught:
        load_settings(with_backup)
    assert named in dict(caught.value.problems), caught.value.problems


def test_an_sftp_repository_needs_a_key_and_keeping_nothing_is_refused(with_backup: dict[str, Any]) -> None:
    with_backup["backup"]["repository"] = "sftp:backup@nas.home.arpa:/backups/february"
    with pytest.raises(SettingsError, match="ssh_key_file"):
        load_settings(with_backup)
    with_backup["backup"].update(repository="/srv/b", keep_daily=0, keep_weekly=0, keep_monthly=0)
    with pytest.raises(SettingsError, match="every snapshot would be pruned"):
        load_settings(with_backup)


def test_a_world_readable_repository_password_is_refused(with_backup: dict[str, Any]) -> None:
    Path(with_backup["backup"]["password_file"]).chmod(0o644)
    with pytest.raises(SettingsError) as caught:
        load_settings(with_backup)
    assert "backup.password_file" in dict(caught.value.problems)


def test_the_script_backs_up_exactly_the_declared_state_and_prunes(with_backup: dict[str, Any]) -> None:
    s = load_settings(with_backup)
    script = render(
        layout.BACKUP_SCRIPT,
        s=s,
        env_file=layout.BACKUP_ENV,
        state_paths=layout.STATE_PATHS,
        status_file=layout.BACKUP_STATUS,
        services=layout.MAIL_SERVICES,
        sftp_command=None,
    )
    assert f"restic_ backup --tag february {' '.join(layout.STATE_PATHS)}\n" in script
    assert "--keep-daily 7 --keep-weekly 4 --keep-monthly 6" in script
    assert "systemctl stop postfix dovecot rspamd" in script and "systemctl start rspamd dovecot postfix" in script


def test_the_units_schedule_and_guard_the_mount(with_backup: dict[str, Any]) -> None:
    s = load_settings(with_backup)
    assert "OnCalendar=*-*-* 03:15:00\n" in render(layout.BACKUP_TIMER_FILE, s=s)
    assert "RequiresMountsFor=/srv/backup/february\n" in render(layout.BACKUP_SERVICE_FILE, s=s)
    env = render(layout.BACKUP_ENV, s=s, password_file=layout.BACKUP_PASSWORD)
    assert env.splitlines() == [
        "RESTIC_REPOSITORY=/srv/backup/february",
        f"RESTIC_PASSWORD_FILE={layout.BACKUP_PASSWORD}",
        "RESTIC_CACHE_DIR=/var/cache/restic",
    ]


def test_an_sftp_repository_is_reached_with_its_own_key() -> None:
    command = sftp_command("sftp:backup@nas.home.arpa:/backups/february")
    assert command is not None and command.endswith("backup@nas.home.arpa -s sftp")
    assert f"-i {layout.BACKUP_SSH_KEY}" in command
    assert sftp_command("/srv/backup") is None

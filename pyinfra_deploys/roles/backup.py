"""Backup: restic snapshots of the host's state on a timer (nightly by default).

What is kept is ``layout.STATE_PATHS`` and nothing else: the configuration is
the deploy's to make again. The repository password is uploaded owner-only;
``february backup now|list|restore`` drive the same script over SSH.
"""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import systemd

from pyinfra_deploys import layout, packages
from pyinfra_deploys.apt import install
from pyinfra_deploys.operations import unit
from pyinfra_deploys.place import exists, folder, place, place_secret
from pyinfra_deploys.service import disabled_and_stopped, enabled_and_running, known_unit_changed
from pyinfra_deploys.settings.host import current, current_secrets
from pyinfra_deploys.stamp import manage_service


def sftp_command(repository: str) -> str | None:
    """The ssh command restic runs for an sftp: repository (its key and known hosts under BACKUP_DIR)."""
    if not repository.startswith("sftp:"):
        return None
    target = repository.removeprefix("sftp:").rpartition(":")[0]
    return (
        f"ssh -i {layout.BACKUP_SSH_KEY} -o BatchMode=yes -o StrictHostKeyChecking=accept-new "
        f"-o UserKnownHostsFile={layout.BACKUP_DIR}/known_hosts {target} -s sftp"
    )


@deploy("Image: backup")
def image_phase() -> None:
    install("backup", packages.BACKUP)


@deploy("Host: backup")
def host_phase() -> None:
    """The repository, its password, the script and its timer: all per host."""
    s = current()
    if s.backup is None:
        if exists(layout.BACKUP_TIMER_FILE):
            disabled_and_stopped("No backups: timer off", layout.BACKUP_TIMER)
        return

    secrets = current_secrets()
    assert secrets.backup_password is not None
    folder(layout.BACKUP_DIR, mode="700", name="Backup settings folder")
    place_secret(layout.BACKUP_PASSWORD, secrets.backup_password + "\n")
    if secrets.backup_ssh_key is not None:
        place_secret(layout.BACKUP_SSH_KEY, secrets.backup_ssh_key)
    place(layout.BACKUP_ENV, mode="600", s=s, password_file=layout.BACKUP_PASSWORD)
    place(
        layout.BACKUP_SCRIPT,
        mode="755",
        s=s,
        env_file=layout.BACKUP_ENV,
        state_paths=layout.STATE_PATHS,
        status_file=layout.BACKUP_STATUS,
        # Stopped while a snapshot is put back, so no mail is written meanwhile.
        services=layout.MAIL_SERVICES,
        sftp_command=sftp_command(s.backup.repository),
    )
    units = {path: place(path, s=s) for path in (layout.BACKUP_SERVICE_FILE, layout.BACKUP_TIMER_FILE)}
    systemd.daemon_reload(name="systemd reads the backup units", _if=known_unit_changed(units))
    manage_service(layout.BACKUP_TIMER)
    enabled_and_running("Backup timer", layout.BACKUP_TIMER)
    unit.restarted(name="Backup timer picks up its new schedule", service=layout.BACKUP_TIMER, _if=known_unit_changed(units))

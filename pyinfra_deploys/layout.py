"""Where things live on a February host, declared once.

Roles, templates (as context), the CLI, the backup and the tests read these
names; none of them spells a path of its own.
"""

from __future__ import annotations

# Mail store: /var/vmail/<domain>/<user>/Maildir, owned by vmail.
VMAIL_DIR = "/var/vmail"
VMAIL_UID = 5000

# TLS certificate and key for SMTP and IMAPS (the seed's paths).
TLS_DIR = "/etc/ssl/mail"
TLS_CERT = f"{TLS_DIR}/mail.crt"
TLS_KEY = f"{TLS_DIR}/mail.key"

# DKIM keys, made on the host; the .txt beside each is its DNS record.
DKIM_DIR = "/var/lib/rspamd/dkim"


def dkim_key(domain: str, selector: str) -> str:
    return f"{DKIM_DIR}/{domain}.{selector}.key"


def dkim_record(domain: str, selector: str) -> str:
    return f"{DKIM_DIR}/{domain}.{selector}.txt"


# State: what a rebuild from image + inventory + secrets cannot make again.
# The nightly backup keeps exactly these, and a restore puts them back.
STATE_PATHS: tuple[str, ...] = (VMAIL_DIR, DKIM_DIR, TLS_DIR)

# Backups (restic): the repository password on the host, the units.
BACKUP_DIR = "/etc/february/backup"
BACKUP_PASSWORD = f"{BACKUP_DIR}/restic.password"
BACKUP_ENV = f"{BACKUP_DIR}/restic.env"
BACKUP_SSH_KEY = f"{BACKUP_DIR}/ssh_key"
BACKUP_SERVICE = "february-backup.service"
BACKUP_TIMER = "february-backup.timer"
BACKUP_STATUS = "/var/lib/february/backup-last-success"

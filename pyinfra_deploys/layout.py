"""Where things live on a February host, declared once.

Roles, templates (as context: ``{{ layout.NAME }}``), the CLI, the backup,
the image's generalize step and the tests read these names; none of them
spells a path of its own.
"""

from __future__ import annotations

# ----- state: what a rebuild from image + inventory + secrets cannot make again -----

# Mail store: /var/vmail/<domain>/<user>/Maildir, owned by vmail.
VMAIL_DIR = "/var/vmail"
VMAIL_UID = 5000

# TLS certificate and key for SMTP and IMAPS (the seed's paths).
TLS_DIR = "/etc/ssl/mail"
TLS_CERT = f"{TLS_DIR}/mail.crt"
TLS_KEY = f"{TLS_DIR}/mail.key"

# ACME (tls.source: acme): certbot's folder (account key, certificate keys and
# certificates); certbot's deploy hook copies its certificate to TLS_CERT/TLS_KEY.
ACME_DIR = "/etc/letsencrypt"
ACME_LINEAGE = "february"  # certbot's --cert-name
ACME_LIVE = f"{ACME_DIR}/live/{ACME_LINEAGE}"

# Rspamd's own folder (statistics, compiled databases) and its user.
RSPAMD_DIR = "/var/lib/rspamd"
RSPAMD_USER = "_rspamd"  # made by Ubuntu's rspamd package
RSPAMD_STATS = f"{RSPAMD_DIR}/stats.ucl"

# DKIM keys, made on the host; the .txt beside each is its DNS record.
DKIM_DIR = f"{RSPAMD_DIR}/dkim"


def dkim_key(domain: str, selector: str) -> str:
    return f"{DKIM_DIR}/{domain}.{selector}.key"


def dkim_record(domain: str, selector: str) -> str:
    return f"{DKIM_DIR}/{domain}.{selector}.txt"


# The nightly backup keeps exactly these, and a restore puts them back.
STATE_PATHS: tuple[str, ...] = (VMAIL_DIR, DKIM_DIR, TLS_DIR, ACME_DIR)

# ----- the deploy's own records -----

# The converge stamp, the last backup's time, the generations.
RECORDS_DIR = "/var/lib/february"
STAMP = f"{RECORDS_DIR}/converged"
# Postfix's debconf answers: placed by the image phase, so kept in an image (RECORDS_DIR is not).
POSTFIX_PRESEED = "/etc/february/postfix.preseed"


def staging_dir(user: str) -> str:
    """The SSH user's private folder for uploads that sudo moves into place."""
    return f"/var/tmp/february-stage-{user}"


# ----- the system -----

HOSTNAME = "/etc/hostname"
# Present from the first converge on: cloud-init, which gave the host its first
# boot (name, admin user, SSH host keys), does not run again at later boots.
CLOUD_INIT_DISABLED = "/etc/cloud/cloud-init.disabled"
MAILNAME = "/etc/mailname"
RESOLV_CONF = "/etc/resolv.conf"  # Rspamd's resolvers when the settings name none
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"
NOLOGIN = "/usr/sbin/nologin"  # the shell of a service account
SYSTEMD_UNITS = "/etc/systemd/system"
APT_CONF_D = "/etc/apt/apt.conf.d"
APT_PROXY = f"{APT_CONF_D}/80february-proxy"
APT_AUTO_UPGRADES = f"{APT_CONF_D}/20auto-upgrades"
APT_UNATTENDED = f"{APT_CONF_D}/52february-unattended"
NEEDRESTART_CONF = "/etc/needrestart/conf.d/february.conf"

# The services that serve TLS_CERT: reloaded when an ACME renewal replaced it.
TLS_SERVICES: tuple[str, ...] = ("postfix", "dovecot")
# The services a mail host runs (stopped while a backup is put back), and Rspamd's Redis.
MAIL_SERVICES: tuple[str, ...] = ("postfix", "dovecot", "rspamd")
REDIS_SERVICE = "redis-server"
# The ports the mail services listen on: 25 for other servers, 587 and 993 for the owner's clients.
SMTP_PORT = 25
SUBMISSION_PORT = 587
IMAPS_PORT = 993

# ----- Postfix -----

POSTFIX_DIR = "/etc/postfix"
POSTFIX_MAIN_CF = f"{POSTFIX_DIR}/main.cf"
POSTFIX_MASTER_CF = f"{POSTFIX_DIR}/master.cf"
VIRTUAL_DOMAINS = f"{POSTFIX_DIR}/virtual_domains"
VIRTUAL_MAILBOXES = f"{POSTFIX_DIR}/virtual_mailboxes"
VIRTUAL_ALIASES = f"{POSTFIX_DIR}/virtual_aliases"
SASL_PASSWD = f"{POSTFIX_DIR}/sasl_passwd"  # the relay password (a secret); postmap makes SASL_PASSWD.db
SMARTHOST_CA = f"{POSTFIX_DIR}/smarthost-ca.pem"  # the relay's private CA, when the settings give one
ALIASES = "/etc/aliases"
# smtpd and cleanup run chrooted here: Dovecot's and the milter's sockets live inside.
POSTFIX_CHROOT = "/var/spool/postfix"
MILTER_SOCKET_DIR = f"{POSTFIX_CHROOT}/rspamd"

# ----- Dovecot -----

DOVECOT_DIR = "/etc/dovecot"
DOVECOT_CONF = f"{DOVECOT_DIR}/dovecot.conf"
DOVECOT_USERS = f"{DOVECOT_DIR}/users"  # the mailbox password hashes (a secret)
SIEVE_DIR = f"{DOVECOT_DIR}/sieve"
SIEVE = f"{SIEVE_DIR}/spam-to-junk.sieve"

# ----- Rspamd -----

RSPAMD_LOCAL_D = "/etc/rspamd/local.d"
RSPAMD_OFFLINE_MAP = f"{RSPAMD_LOCAL_D}/offline-empty.map"
RSPAMD_DROP_IN = f"{SYSTEMD_UNITS}/rspamd.service.d/february.conf"


def rspamd_local(name: str) -> str:
    """A file of Rspamd's local.d (local.d/NAME overrides the package's NAME)."""
    return f"{RSPAMD_LOCAL_D}/{name}"


# ----- UFW: the files its fact reads and the stamp observes -----

UFW_BINARY = "/usr/sbin/ufw"
UFW_LOCK = "/run/ufw.lock"  # what ufw holds while it changes its rules (ufw.operations' batch takes it too)
UFW_CONF = "/etc/ufw/ufw.conf"
UFW_DEFAULTS = "/etc/default/ufw"
UFW_USER_RULES = "/etc/ufw/user.rules"
UFW_USER6_RULES = "/etc/ufw/user6.rules"
UFW_FILES: tuple[str, ...] = (UFW_CONF, UFW_DEFAULTS, UFW_USER_RULES, UFW_USER6_RULES)

# ----- backups (restic): the repository password on the host, the script, the units -----

BACKUP_DIR = "/etc/february/backup"
BACKUP_PASSWORD = f"{BACKUP_DIR}/restic.password"
BACKUP_ENV = f"{BACKUP_DIR}/restic.env"
BACKUP_SSH_KEY = f"{BACKUP_DIR}/ssh_key"
BACKUP_CACHE = "/var/cache/restic"
BACKUP_SCRIPT = "/usr/local/sbin/february-backup"
BACKUP_SERVICE = "february-backup.service"
BACKUP_TIMER = "february-backup.timer"
BACKUP_SERVICE_FILE = f"{SYSTEMD_UNITS}/{BACKUP_SERVICE}"
BACKUP_TIMER_FILE = f"{SYSTEMD_UNITS}/{BACKUP_TIMER}"
BACKUP_STATUS = f"{RECORDS_DIR}/backup-last-success"

# ----- ACME certificates (certbot): settings, the script the timer and the deploy hook run, its record -----

ACME_SETTINGS_DIR = "/etc/february/acme"
ACME_CREDENTIALS = f"{ACME_SETTINGS_DIR}/credentials.ini"  # the DNS plugin's credentials (a secret)
ACME_SERVER_CA = f"{ACME_SETTINGS_DIR}/server-ca.pem"  # a private ACME server's CA, when the settings give one
ACME_REQUEST = f"{ACME_SETTINGS_DIR}/request"  # certbot's arguments for this host: a change issues anew
ACME_SCRIPT = "/usr/local/sbin/february-acme"
ACME_SERVICE = "february-acme.service"
ACME_TIMER = "february-acme.timer"
ACME_SERVICE_FILE = f"{SYSTEMD_UNITS}/{ACME_SERVICE}"
ACME_TIMER_FILE = f"{SYSTEMD_UNITS}/{ACME_TIMER}"
CERTBOT_TIMER = "certbot.timer"  # the package's own: off, ACME_TIMER renews and records
ACME_STATUS = f"{RECORDS_DIR}/acme-last"  # "ok|failed EPOCH" of the last issue or renewal run

# ----- the health report (`february status`): the checks' script, its configuration, what it reads -----

STATUS_SCRIPT = "/usr/local/sbin/february-status"  # pyinfra_deploys/host/february_status.py, uploaded verbatim
STATUS_CONFIG = "/etc/february/status.json"  # the host's paths, services and ports for it (roles/status.py)
# The daily run that mails the owner when the result changed (`february-status CONFIG --notify`).
STATUS_SERVICE = "february-status.service"
STATUS_TIMER = "february-status.timer"
STATUS_SERVICE_FILE = f"{SYSTEMD_UNITS}/{STATUS_SERVICE}"
STATUS_TIMER_FILE = f"{SYSTEMD_UNITS}/{STATUS_TIMER}"
STATUS_LAST = f"{RECORDS_DIR}/status-last.json"  # the levels the last notified run saw
REBOOT_REQUIRED = "/var/run/reboot-required"  # written by packages that need a reboot (.pkgs beside it names them)
SENDMAIL = "/usr/sbin/sendmail"  # the local submission program (the health check's delivery probe)
APT_CHECK = "/usr/lib/update-notifier/apt-check"  # update-notifier-common's counter, when installed
APT_LISTS = "/var/lib/apt/lists"  # the package lists apt last downloaded

# ----- generations: the managed files after each converge that changed one (roles/generations.py) -----

GENERATION_SCRIPT = "/usr/local/sbin/february-generation"  # pyinfra_deploys/host/february_generation.py, uploaded verbatim
GENERATION_CONFIG = "/etc/february/generations.json"  # where they live, what they leave out, how a switch is checked
GENERATIONS_DIR = f"{RECORDS_DIR}/generations"  # root only; never in an image (RECORDS_DIR is removed)
# The host's own rollback after a switch (``february-generation arm``): a transient timer, gone once confirmed.
ROLLBACK_UNIT = "february-rollback"
ROLLBACK_ARMED = f"{GENERATIONS_DIR}/armed"  # what is armed (the script's ``armed_path``): there until confirmed or fired
# At boot, an armed rollback goes on (``february-generation resume``): a transient timer does not outlive a reboot.
ROLLBACK_RESUME_SERVICE = "february-rollback-resume.service"
ROLLBACK_RESUME_FILE = f"{SYSTEMD_UNITS}/{ROLLBACK_RESUME_SERVICE}"

# ----- what an image must not carry (images/generalize.sh, given these by images/generalize.py) -----

# Emptied, the folders kept: every state path.
IMAGE_EMPTIED: tuple[str, ...] = STATE_PATHS
# Removed: per-host secrets and the deploy's records. A bake makes none of
# the secrets; this is the backstop.
IMAGE_REMOVED: tuple[str, ...] = (SASL_PASSWD, f"{SASL_PASSWD}.db", BACKUP_DIR, ACME_SETTINGS_DIR, RECORDS_DIR)
# The bake's record of its image phase: every file it placed, as "sha256 mode
# user group path" lines (pyinfra_deploys/phases.py); Packer downloads it for
# the manifest, and generalize.sh empties /var/tmp after.
IMAGE_PHASE_RECORD = "/var/tmp/february-image-phase.txt"
# Must hold no password hash after a bake: the bake fails instead.
IMAGE_NO_HASHES: tuple[str, ...] = (DOVECOT_USERS,)

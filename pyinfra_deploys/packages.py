"""The packages each role installs, in one place.

The roles install these with ``pyinfra_deploys.apt.install``; the image pipeline installs the
same lists natively into the base image root (``images/base_layer.py``), so the
deploy stays the single source of truth for what a February host runs.

The names hold on Debian 12 and Ubuntu 24.04 alike. The seed article's
``postfix-utils`` exists in neither: postconf, postmap and postqueue ship in
``postfix``. ``rspamd`` and ``mailutils`` are in noble's *universe* component,
which the Ubuntu cloud image enables by default.
"""

# python3 and openssl run the health checks (pyinfra_deploys/host/february_status.py) on the host.
BASE: tuple[str, ...] = ("ca-certificates", "openssl", "debconf-utils", "python3")
POSTFIX: tuple[str, ...] = ("postfix", "libsasl2-modules", "mailutils")
DOVECOT: tuple[str, ...] = ("dovecot-core", "dovecot-imapd", "dovecot-lmtpd", "dovecot-sieve")
# Rspamd keeps Bayes statistics (and its other learned state) in Redis.
RSPAMD: tuple[str, ...] = ("rspamd", "redis-server")
FIREWALL: tuple[str, ...] = ("ufw",)
BACKUP: tuple[str, ...] = ("restic",)
# ACME certificates: certbot and the DNS plugin for servers that take dynamic
# updates (RFC 2136); another provider's plugin is installed by the host phase.
ACME_IMAGE_PLUGIN = "rfc2136"
ACME: tuple[str, ...] = ("certbot", f"python3-certbot-dns-{ACME_IMAGE_PLUGIN}")
# Security updates; needrestart restarts the services an update touched.
UPDATES: tuple[str, ...] = ("unattended-upgrades", "needrestart")

ALL_ROLES: dict[str, tuple[str, ...]] = {
    "base": BASE,
    "updates": UPDATES,
    "postfix": POSTFIX,
    "dovecot": DOVECOT,
    "rspamd": RSPAMD,
    "firewall": FIREWALL,
    "backup": BACKUP,
    "acme": ACME,
}


def deploy_packages() -> list[str]:
    """Every package the deploy installs, sorted and without duplicates."""
    return sorted({name for names in ALL_ROLES.values() for name in names})

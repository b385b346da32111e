"""Status: the health checks' script (``pyinfra_deploys/host/february_status.py``) and its configuration on the host.

The script is uploaded verbatim: it is the one implementation of the checks,
run by ``february status`` over SSH (and, later, by a timer on the host).
What it checks (paths, services, ports, the milter, whether backups are
configured) it reads from ``layout.STATUS_CONFIG``, written here from
``layout`` and the settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyinfra.api import deploy
from pyinfra.operations import systemd

from pyinfra_deploys import layout
from pyinfra_deploys.host import february_status
from pyinfra_deploys.place import place, place_own
from pyinfra_deploys.service import enabled_and_running, known_unit_changed
from pyinfra_deploys.settings.host import current
from pyinfra_deploys.settings.model import Settings
from pyinfra_deploys.stamp import manage_service

SCRIPT_SOURCE = Path(february_status.__file__)


def status_config(s: Settings) -> dict[str, Any]:
    """The checks' configuration for a host (``february_status.Config``): everything they look at, from layout and the settings."""
    # Postfix listens on the loopback of the families inet_protocols names; Dovecot (listen = *) on IPv4.
    smtp_address = "::1" if s.inet_protocols == "ipv6" else "127.0.0.1"
    return {
        "hostname": s.hostname,
        "services": [*layout.MAIL_SERVICES, layout.REDIS_SERVICE],
        "ports": [
            {"name": "smtp", "address": smtp_address, "port": layout.SMTP_PORT, "mode": "starttls"},
            {"name": "submission", "address": smtp_address, "port": layout.SUBMISSION_PORT, "mode": "starttls"},
            {"name": "imaps", "address": "127.0.0.1", "port": layout.IMAPS_PORT, "mode": "tls"},
        ],
        "milter": s.rspamd.milter,
        "cert": layout.TLS_CERT,
        "key": layout.TLS_KEY,
        "mail_store": layout.VMAIL_DIR,
        "backup_status": layout.BACKUP_STATUS if s.backup is not None else None,
        "backup_service": layout.BACKUP_SERVICE if s.backup is not None else None,
        "reboot_required": layout.REBOOT_REQUIRED,
        "apt_check": layout.APT_CHECK,
        "apt_lists": layout.APT_LISTS,
        "probe_mailbox": next(iter(s.mailboxes), None),
        "probe_sender": f"postmaster@{s.domain}",
        "sendmail": layout.SENDMAIL,
        "last": layout.STATUS_LAST,
        "notify_to": f"postmaster@{s.domain}",
        "acme_status": layout.ACME_STATUS if s.tls.from_acme else None,
        "acme_service": layout.ACME_SERVICE if s.tls.from_acme else None,
        "relay": relay_config(s),
    }


def relay_config(s: Settings) -> dict[str, Any] | None:
    """The smarthost as Postfix reaches it (main.cf's relayhost, TLS level and CA file, the SASL map's source)."""
    if s.smarthost is None:
        return None
    return {
        "host": s.smarthost.host,
        "port": s.smarthost.port,
        "verify": s.smarthost.tls_verify == "verify",
        "ca_file": s.smtp_ca_file,
        "credentials": layout.SASL_PASSWD,
    }


def config_text(s: Settings) -> str:
    return json.dumps(status_config(s), indent=2, sort_keys=True) + "\n"


@deploy("Image: status")
def image_phase() -> None:
    place_own(layout.STATUS_SCRIPT, source=SCRIPT_SOURCE)


@deploy("Host: status")
def host_phase() -> None:
    """The checks' configuration (it names the host) and their daily timer."""
    place_own(layout.STATUS_CONFIG, text=config_text(current()))
    # The same checks daily; the owner is mailed when a level changed (february_status.notify).
    units = {path: place(path) for path in (layout.STATUS_SERVICE_FILE, layout.STATUS_TIMER_FILE)}
    systemd.daemon_reload(name="systemd reads the status units", _if=known_unit_changed(units))
    manage_service(layout.STATUS_TIMER)
    enabled_and_running("Status timer", layout.STATUS_TIMER)

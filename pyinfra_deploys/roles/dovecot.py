"""Dovecot: SASL auth and LMTP sockets for Postfix, IMAPS, Maildir, Sieve."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import server

from pyinfra_deploys import layout, packages
from pyinfra_deploys.apt import install
from pyinfra_deploys.layout import SIEVE, SIEVE_DIR, VMAIL_DIR, VMAIL_UID
from pyinfra_deploys.operations import account
from pyinfra_deploys.place import folder, place
from pyinfra_deploys.service import restart_on_change
from pyinfra_deploys.settings.host import current, current_secrets
from pyinfra_deploys.stamp import manage_path, manage_user

CHECKS = ["doveconf -n >/dev/null"]  # before every restart, and before a generation switch restarts


@deploy("Image: Dovecot")
def image_phase() -> list[OperationMeta]:
    """Packages, the mail account and store, the configuration and Sieve; returns what may need a restart."""
    s = current()
    install("dovecot", packages.DOVECOT)
    account.system_account(name="vmail account", user="vmail", uid=VMAIL_UID, home=VMAIL_DIR, shell=layout.NOLOGIN)
    manage_user("vmail")
    manage_path(VMAIL_DIR, SIEVE.replace(".sieve", ".svbin"))
    folder(VMAIL_DIR, mode="750", user="vmail", group="vmail", name="Mail store")

    conf = place(layout.DOVECOT_CONF, s=s, vmail_uid=VMAIL_UID)
    manage_path(SIEVE_DIR)
    folder(SIEVE_DIR, mode="755", name="Sieve directory")
    sieve = place(SIEVE)
    server.shell(name="Compile the spam Sieve script", commands=[f"sievec {SIEVE}"], _if=sieve.did_change)

    return [conf, sieve]


@deploy("Host: Dovecot")
def host_phase(changes: list[OperationMeta] | None = None) -> None:
    """The mailboxes' password hashes (per host, secret); Dovecot restarted on any of ``changes`` or theirs, running."""
    users = place(layout.DOVECOT_USERS, mode="640", group="dovecot", secret=True, mailbox_hashes=current_secrets().mailbox_hashes)
    restart_on_change("Dovecot", "dovecot", [*(changes or []), users], check=CHECKS)

"""Postfix: main.cf and master.cf as the seed gives them, maps, checked reloads."""

from __future__ import annotations

from typing import Any

from pyinfra.api import deploy
from pyinfra.api.operation import OperationMeta
from pyinfra.operations import server

from pyinfra_deploys import layout, packages
from pyinfra_deploys.apt import install
from pyinfra_deploys.place import absent, place, place_file
from pyinfra_deploys.service import restart_on_change
from pyinfra_deploys.settings.host import current, current_secrets
from pyinfra_deploys.settings.load import settings_base_dir
from pyinfra_deploys.stamp import manage_path, manage_service

# Validate before every reload (and before a generation switch reloads): postconf reads
# main.cf and master.cf, fails on a malformed line and warns on stderr of an unknown
# parameter (an -o in master.cf too), and any of that fails the check. `postfix check`
# is not run here: measured on the lab VM it passed all of these but the malformed line
# (and a value smtpd rejects only when it starts, as postconf does), and its audit of
# the package's own files took 10-14 s of every deploy and switch under emulation.
CHECKS = ['test -z "$(postconf -n 2>&1 >/dev/null)" || { postconf -n >/dev/null; exit 1; }']


def postmapped(path: str, mode: str = "644", secret: bool = False, **context: Any) -> list[OperationMeta]:
    """Place a lookup table and rebuild its .db when it changed.

    A ``secret`` table's .db is made owner-only from the start (umask), never
    readable in between.
    """
    table = place(path, mode=mode, secret=secret, **context)
    manage_path(f"{path}.db")
    rebuild = server.shell(
        name=f"postmap {path}",
        commands=[f"umask 077 && postmap hash:{path}", f"chmod {mode} {path}.db"],
        _if=table.did_change,
    )
    return [table, rebuild]


def aliases() -> list[OperationMeta]:
    """The host's local aliases (alias_maps), rebuilt with newaliases on change."""
    table = place(layout.ALIASES)
    manage_path(f"{layout.ALIASES}.db")
    return [table, server.shell(name="newaliases", commands=["newaliases"], _if=table.did_change)]


@deploy("Image: Postfix")
def image_phase() -> list[OperationMeta]:
    """Packages, main.cf, master.cf and the maps from the settings; returns what may need a reload."""
    s = current()
    install("postfix", packages.POSTFIX)

    changes: list[OperationMeta] = [
        place(layout.POSTFIX_MAIN_CF, s=s),
        place(layout.POSTFIX_MASTER_CF, s=s),
        place(layout.VIRTUAL_DOMAINS, s=s),
        *aliases(),
        *postmapped(layout.VIRTUAL_MAILBOXES, s=s),
        *postmapped(layout.VIRTUAL_ALIASES, s=s),
    ]
    return changes


@deploy("Host: Postfix")
def host_phase(changes: list[OperationMeta] | None = None) -> None:
    """The relay password (per host, secret) and CA; Postfix reloaded on any of ``changes`` or these, running."""
    s = current()
    changes = list(changes or [])
    manage_service("postfix@-")
    if s.smarthost is not None:
        # The relay password: 0600 on the host, .db too, never in the repo.
        changes += postmapped(
            layout.SASL_PASSWD, mode="600", secret=True, s=s, smarthost_password=current_secrets().smarthost_password
        )
    else:
        for path in (layout.SASL_PASSWD, f"{layout.SASL_PASSWD}.db"):
            changes.append(absent(path))
    if s.relay_ca_uploaded:
        # The relay's private CA (public data), read by smtp(8) before its chroot.
        assert s.smarthost is not None and s.smarthost.ca_file is not None
        changes.append(place_file(layout.SMARTHOST_CA, settings_base_dir() / s.smarthost.ca_file, mode="644"))
    else:
        changes.append(absent(layout.SMARTHOST_CA))

    restart_on_change("Postfix", "postfix", changes, check=CHECKS, reload=True)

"""A new site, written once: `february init DIR` (the inventory, the settings, a secrets folder).

A site is what survives the host: ``hosts.py`` (how to reach the box),
``group_data/all.py`` (the ``february`` settings) and ``secrets/`` (0700;
every file 0600: the mailboxes' password hashes, the relay's password, the
backup repository's password). Secret paths in the settings are absolute,
so every command reads the same files from any working directory.

The answers are checked by the settings model before anything is written,
an existing site is never overwritten, and the written site is read back
exactly as `february check` reads it.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from images.seed import HostIdentity, read_public_key
from pyinfra_deploys.settings.inventory import InventoryHost, inventory_host
from pyinfra_deploys.settings.load import load_settings
from pyinfra_deploys.settings.types import check_host

INVENTORY_NAME = "hosts.py"
SETTINGS_NAME = "group_data/all.py"
SECRETS_NAME = "secrets"


def hash_password(password: str) -> str:
    """SHA512-CRYPT, the scheme Dovecot's passwd-file is told to expect."""
    done = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def new_password(nbytes: int) -> str:
    """A random URL-safe password that does not begin with "-".

    Command-line clients read such an argument as an option: swaks has no way
    to take it (``--auth-password -x...`` and ``--auth-password=-x...`` both fail).
    """
    while (password := secrets.token_urlsafe(nbytes)).startswith("-"):
        pass
    return password


def write_secret(path: Path, value: str) -> None:
    """``value`` and a newline into ``path``, readable by its owner only from the first byte on (its folder 0700 if new)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)


class SiteError(Exception):
    """The site cannot be written as asked (the folder is taken, an answer is refused)."""


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    username: str
    spf_include: str  # who sends for the relay, for SPF: its SPF domain or its sending network
    password: str = field(repr=False)


@dataclass(frozen=True)
class Answers:
    """What an owner says about a new site; passwords are never printed (repr hides them)."""

    hostname: str
    domain: str
    address: str  # how this machine reaches the box over SSH (a LAN name or address)
    admin_user: str
    ssh_public_key: str  # the key line, or the path of a .pub file
    mailboxes: dict[str, str] = field(repr=False)  # address -> password
    submission_networks: tuple[str, ...] = ()
    relay: Relay | None = None
    backup_repository: str | None = None

    def settings(self, folder: Path) -> dict[str, Any]:
        """The ``february`` settings dict for a site in ``folder`` (secret paths under its secrets folder)."""
        kept = folder / SECRETS_NAME
        data: dict[str, Any] = {
            "hostname": self.hostname,
            "domain": self.domain,
            "mailboxes": {address: {"hashed_password_file": str(kept / f"{address}.hash")} for address in self.mailboxes},
            "aliases": {f"{role}@{self.domain}": [next(iter(self.mailboxes))] for role in ("postmaster", "abuse")}
            if self.mailboxes and not {f"postmaster@{self.domain}", f"abuse@{self.domain}"} & set(self.mailboxes)
            else {},
        }
        if self.submission_networks:
            data["submission_networks"] = list(self.submission_networks)
        if self.relay is not None:
            data["smarthost"] = {
                "host": self.relay.host,
                "port": self.relay.port,
                "username": self.relay.username,
                "password_file": str(kept / "smarthost.password"),
                "spf_include": self.relay.spf_include,
            }
        if self.backup_repository is not None:
            data["backup"] = {"repository": self.backup_repository, "password_file": str(kept / "backup.password")}
        return data


def checked(answers: Answers, folder: Path) -> Answers:
    """The answers as the site keeps them (the SSH key as its line, not a path), or a SiteError or SettingsError
    naming the key, before anything is written: the settings as the model checks them, the host's identity
    as `february image flash` checks it, the SSH address as a host name or IP."""
    load_settings(answers.settings(folder), check_files=False)
    if not answers.mailboxes:
        raise SiteError("give at least one mailbox (--mailbox ADDRESS)")
    for address, password in answers.mailboxes.items():
        if not password:
            raise SiteError(f"the password for {address} is empty")
    try:
        check_host(answers.address)
    except ValueError as error:
        raise SiteError(f"address: {error}") from None
    try:
        key_line = read_public_key(answers.ssh_public_key, base=Path.cwd())
        HostIdentity(hostname=answers.hostname, admin_user=answers.admin_user, ssh_public_key=key_line)
    except ValueError as error:
        raise SiteError(str(error)) from None
    return replace(answers, ssh_public_key=key_line)


def python_literal(value: Any, depth: int = 0) -> str:
    """``value`` (dicts, lists, tuples and leaves) as Python source, one item per line, four spaces a level."""
    pad, inner = "    " * depth, "    " * (depth + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{key!r}: {python_literal(item, depth + 1)}," for key, item in value.items()]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)) and value:
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
        items = [f"{inner}{python_literal(item, depth + 1)}," for item in value]
        return opening + "\n" + "\n".join(items) + f"\n{pad}{closing}"
    return repr(value)


def inventory_text(answers: Answers) -> str:
    data = {"ssh_user": answers.admin_user, "_sudo": True, "february_admin_ssh_key": answers.ssh_public_key}
    return (
        f'"""The February host of this site (written by `february init`): `february deploy -i {INVENTORY_NAME}`.\n\n'
        f'The settings are in {SETTINGS_NAME}; the secrets in {SECRETS_NAME}/ (never commit them)."""\n\n'
        f"mail = {python_literal([(answers.address, data)])}\n"
    )


def settings_text(settings: dict[str, Any]) -> str:
    return (
        '"""The February settings of this site (written by `february init`); every key: docs/settings.md."""\n\n'
        f"february = {python_literal(settings)}\n"
    )


def write_site(folder: Path, answers: Answers) -> InventoryHost:
    """Write the site into ``folder`` (new or empty), then read it back as `february check` does."""
    folder = folder.absolute()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise SiteError(f"{folder} already holds something: a site is never overwritten (give a new or empty folder)")
    answers = checked(answers, folder)
    kept = folder / SECRETS_NAME
    folder.mkdir(parents=True, exist_ok=True)
    kept.mkdir(mode=0o700)
    for address, password in answers.mailboxes.items():
        write_secret(kept / f"{address}.hash", hash_password(password))
    if answers.relay is not None:
        write_secret(kept / "smarthost.password", answers.relay.password)
    if answers.backup_repository is not None:
        write_secret(kept / "backup.password", new_password(32))
    (folder / "group_data").mkdir()
    (folder / SETTINGS_NAME).write_text(settings_text(answers.settings(folder)))
    (folder / INVENTORY_NAME).write_text(inventory_text(answers))
    found = inventory_host(folder / INVENTORY_NAME)
    found.secrets()
    return found

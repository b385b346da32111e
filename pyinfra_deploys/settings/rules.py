"""Rules that span several settings, each with its own message, in one place."""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path

from pyinfra_deploys.settings.model import Settings
from pyinfra_deploys.settings.types import check_password_hash, is_private

Problem = tuple[str, str]

PRIVATE_RANGES = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 127.0.0.0/8, ::1/128, fc00::/7"


def public_network_problems(key: str, networks: list[str], opt_in: str, allowed: bool, what: str) -> list[Problem]:
    """Networks outside the private, loopback and ULA ranges need their opt-in setting."""
    if allowed:
        return []
    return [
        (
            f"{key}.{index}",
            f"{network} is not inside a private, loopback or ULA range ({PRIVATE_RANGES}); {what}. "
            f"If that is really meant, set {opt_in}: true",
        )
        for index, network in enumerate(networks)
        if not is_private(network)
    ]


def cross_field_problems(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    served = set(settings.served_domains)

    for entry in settings.expanded_mydestination():
        if entry in served:
            problems.append(
                (
                    "mydestination",
                    f"{entry!r} is also a virtual domain; a domain may be in only one of mydestination "
                    "and virtual_domains, or Postfix loops the mail. Remove it from mydestination.",
                )
            )

    for address in settings.mailboxes:
        domain = address.rpartition("@")[2]
        if domain not in served:
            problems.append(
                (f"mailboxes.{address}", f"domain {domain!r} is not served; add it to virtual_domains (served: {sorted(served)})")
            )

    for alias, targets in settings.aliases.items():
        domain = alias.rpartition("@")[2]
        if domain not in served:
            problems.append((f"aliases.{alias}", f"domain {domain!r} is not served; add it to virtual_domains"))
        if alias in settings.mailboxes:
            problems.append((f"aliases.{alias}", "is also a mailbox; an address is either a mailbox or an alias"))
        if not targets:
            problems.append((f"aliases.{alias}", "has no targets"))

    problems += public_network_problems(
        "mynetworks",
        settings.mynetworks,
        "allow_public_mynetworks",
        settings.allow_public_mynetworks,
        "Postfix would relay mail for anyone there without a password",
    )
    problems += public_network_problems(
        "submission_networks",
        settings.submission_networks,
        "allow_public_submission_networks",
        settings.allow_public_submission_networks,
        "the firewall would open submission (587) and IMAPS (993) to it",
    )
    if not settings.firewall.enabled and not settings.firewall.i_accept_no_firewall:
        problems.append(
            (
                "firewall.enabled",
                "false leaves every port of the host open; if that is really meant, set firewall.i_accept_no_firewall: true as well",
            )
        )
    if not settings.banner.startswith(("$myhostname ", f"{settings.hostname} ")):
        problems.append(
            (
                "banner",
                f"{settings.banner!r} must start with '$myhostname' or the host name {settings.hostname!r}, "
                "then a space and text (RFC 5321), like '$myhostname ESMTP'",
            )
        )
    return problems


def check_password_line(content: str) -> str:
    """The relay password: one non-empty line (a final newline is fine), no control characters, no outer spaces."""
    value = content.removesuffix("\n")
    if not value:
        raise ValueError("is empty; write the password on one line")
    if "\n" in value or "\r" in value:
        raise ValueError("has more than one line; write only the password, on one line")
    if not value.isprintable():
        raise ValueError("holds control characters (tab, escape, ...); the password must be printable text")
    if value != value.strip():
        raise ValueError("starts or ends with a space; postmap would drop it: remove it")
    return value


def check_hash_line(content: str) -> str:
    """A mailbox hash file: exactly one SHA512-CRYPT hash, one line (a final newline is fine)."""
    value = content.removesuffix("\n")
    if "\n" in value:
        raise ValueError("has more than one line; it must hold exactly one SHA512-CRYPT hash")
    return check_password_hash(value)


def check_ssh_private_key(content: str) -> str:
    """An OpenSSH private key (unencrypted: root runs it unattended), as ssh-keygen writes it."""
    lines = content.strip().splitlines()
    if (
        len(lines) < 3
        or lines[0] != "-----BEGIN OPENSSH PRIVATE KEY-----"
        or lines[-1] != "-----END OPENSSH PRIVATE KEY-----"
        or not all(re.fullmatch(r"[A-Za-z0-9+/=]+", line) for line in lines[1:-1])
    ):
        raise ValueError("is not an OpenSSH private key (ssh-keygen -t ed25519 -N '' -f FILE writes one)")
    return "\n".join(lines) + "\n"


# Modes a secret file may have: read (and write) for its owner only.
OWNER_ONLY = (0o600, 0o400)


@dataclass(frozen=True)
class SecretFile:
    key: str
    path: Path
    parse: Callable[[str], str] | None  # None: checked but not read here (the TLS files)
    secret: bool = True  # False: a certificate, public: any mode


def secret_files(settings: Settings) -> list[SecretFile]:
    files: list[SecretFile] = []
    if settings.smarthost is not None:
        files.append(SecretFile("smarthost.password_file", settings.smarthost.password_file, check_password_line))
    for address, mailbox in settings.mailboxes.items():
        if mailbox.hashed_password_file is not None:
            files.append(SecretFile(f"mailboxes.{address}.hashed_password_file", mailbox.hashed_password_file, check_hash_line))
    if settings.backup is not None:
        files.append(SecretFile("backup.password_file", settings.backup.password_file, check_password_line))
        if settings.backup.ssh_key_file is not None:
            files.append(SecretFile("backup.ssh_key_file", settings.backup.ssh_key_file, check_ssh_private_key))
    if settings.smarthost is not None and settings.smarthost.ca_file is not None:
        # A CA certificate is public: any mode.
        files.append(SecretFile("smarthost.ca_file", settings.smarthost.ca_file, None, secret=False))
    if settings.tls.source == "files":
        assert settings.tls.cert_file is not None and settings.tls.key_file is not None
        files += [
            SecretFile("tls.cert_file", settings.tls.cert_file, None, secret=False),
            SecretFile("tls.key_file", settings.tls.key_file, None),
        ]
    return files


def read_secret_file(file: SecretFile, base: Path) -> str | None:
    """Check a secret file (where it is, its mode, its content) and return its checked value.

    Where: a relative path must stay inside ``base`` (the settings folder)
    once resolved; an absolute path that is a symlink must resolve to a file
    in the link's own directory. So a link to /etc/shadow is refused.
    """
    full = file.path if file.path.is_absolute() else base / file.path
    if not full.is_file():
        raise ValueError(f"{full} does not exist; create it (it is a secret: keep it out of the repo)")
    target = full.resolve()
    if file.secret:
        if file.path.is_absolute():
            folder = full.parent.resolve()
            inside = target.parent == folder
        else:
            folder = base.resolve()
            inside = target.is_relative_to(folder)
        if not inside:
            raise ValueError(
                f"{full} resolves to {target}, outside {folder}; a secret file (or a symlink to it) must stay in "
                "that folder (relative paths: inside the settings folder; absolute paths: in the link's own folder)"
            )
        mode = stat.S_IMODE(target.stat().st_mode)
        if mode not in OWNER_ONLY:
            raise ValueError(
                f"{full} has mode {mode:04o}; a secret must be readable by its owner only: chmod 600 it (0600 or 0400)"
            )
    if file.parse is None:
        return None
    try:
        content = target.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{full}: its content is not UTF-8 text") from None
    try:
        return file.parse(content)
    except ValueError as error:
        raise ValueError(f"{full}: its content {error}") from None


def read_secret_files(settings: Settings, base: Path) -> tuple[dict[str, str], list[Problem]]:
    """Every secret file checked; returns the values read, by key, and the problems."""
    values: dict[str, str] = {}
    problems: list[Problem] = []
    for file in secret_files(settings):
        try:
            value = read_secret_file(file, base)
        except ValueError as error:
            problems.append((file.key, str(error)))
        else:
            if value is not None:
                values[file.key] = value
    return values, problems


def secret_file_problems(settings: Settings, base: Path) -> list[Problem]:
    """Secret files: where they are, their mode (0600/0400) and their content, as the deploy reads them."""
    return read_secret_files(settings, base)[1]

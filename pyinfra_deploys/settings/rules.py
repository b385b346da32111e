"""Rules that span several settings, each with its own message, in one place."""

from __future__ import annotations

from pathlib import Path

from pyinfra_deploys.settings.model import Settings

Problem = tuple[str, str]


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

    return problems


def secret_file_problems(settings: Settings, base: Path) -> list[Problem]:
    """Secret files must exist and must not be readable by other users."""
    files: list[tuple[str, Path]] = []
    if settings.smarthost is not None:
        files.append(("smarthost.password_file", settings.smarthost.password_file))
    for address, mailbox in settings.mailboxes.items():
        if mailbox.hashed_password_file is not None:
            files.append((f"mailboxes.{address}.hashed_password_file", mailbox.hashed_password_file))
    if settings.backup is not None:
        files.append(("backup.password_file", settings.backup.password_file))
        if settings.backup.ssh_key_file is not None:
            files.append(("backup.ssh_key_file", settings.backup.ssh_key_file))
    if settings.tls.source == "files":
        assert settings.tls.cert_file is not None and settings.tls.key_file is not None
        files += [("tls.cert_file", settings.tls.cert_file), ("tls.key_file", settings.tls.key_file)]

    problems: list[Problem] = []
    for key, path in files:
        full = path if path.is_absolute() else base / path
        if not full.is_file():
            problems.append((key, f"{full} does not exist; create it (it is a secret: keep it out of the repo)"))
        elif key != "tls.cert_file" and full.stat().st_mode & 0o004:
            problems.append((key, f"{full} is readable by everyone; chmod 600 it"))
    return problems

"""Rules that span several settings, each with its own message, in one place."""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from pyinfra_deploys.settings.model import Settings
from pyinfra_deploys.settings.types import PRIVATE_NETWORKS, LocalFile, is_private

Problem = tuple[str, str]

PRIVATE_RANGES = ", ".join(map(str, PRIVATE_NETWORKS))


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


def alias_loops(aliases: dict[str, list[str]]) -> list[list[str]]:
    """Loops among the aliases (a -> b -> a, or a -> a), each starting at its first address in sorted order.

    One depth-first walk (each alias entered once, so a large table stays
    fast); every loop is found, though of loops sharing addresses only those
    the walk closes are named.
    """
    loops: set[tuple[str, ...]] = set()
    done: set[str] = set()
    for alias in sorted(aliases):
        if alias in done:
            continue
        path, pending = [alias], [iter(aliases[alias])]  # no recursion: a long chain is no RecursionError
        while path:
            target = next(pending[-1], None)
            if target is None:
                done.add(path.pop())
                pending.pop()
            elif target in path:
                loop = path[path.index(target) :]
                start = loop.index(min(loop))
                loops.add(tuple(loop[start:] + loop[:start]))
            elif target in aliases and target not in done:
                path.append(target)
                pending.append(iter(aliases[target]))
    return [list(loop) for loop in sorted(loops)]


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
    for loop in alias_loops(settings.aliases):
        problems.append(
            (
                f"aliases.{loop[0]}",
                f"is in an alias loop: {' -> '.join([*loop, loop[0]])}; Postfix would bounce every message to "
                "these addresses: point one of them at a mailbox instead",
            )
        )

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


# Modes a secret file may have: read (and write) for its owner only.
OWNER_ONLY = (0o600, 0o400)


@dataclass(frozen=True)
class SecretFile:
    key: str
    path: Path
    parse: Callable[[str], str] | None  # None: any UTF-8 text (a PEM certificate or key, placed as it is)
    secret: bool = True  # False: a certificate, public: any mode


def local_file(field: FieldInfo) -> LocalFile | None:
    """The LocalFile mark of a model field typed as a local file path (``PasswordFile``, ``PasswordFile | None``), or None."""
    marks = [*field.metadata, *(meta for arg in get_args(field.annotation) for meta in getattr(arg, "__metadata__", ()))]
    return next((mark for mark in marks if isinstance(mark, LocalFile)), None)


def secret_files(model: BaseModel, prefix: str = "") -> list[SecretFile]:
    """Every local file the settings name, found by the type of its field (types.LocalFile), keyed as the settings say it.

    Nested models (``smarthost``) and mappings of them (``mailboxes``) are searched too, so
    a file field added to the model is read, checked and stamped without being listed here.
    """
    files: list[SecretFile] = []
    for name, field in type(model).model_fields.items():
        value, key = getattr(model, name), f"{prefix}{name}"
        mark = local_file(field)
        if mark is not None:
            if value is not None:
                files.append(SecretFile(key, value, mark.parse, mark.secret))
        elif isinstance(value, BaseModel):
            files += secret_files(value, f"{key}.")
        elif isinstance(value, dict):
            for item, nested in value.items():
                if isinstance(nested, BaseModel):
                    files += secret_files(nested, f"{key}.{item}.")
    return files


def read_secret_file(file: SecretFile, base: Path) -> str:
    """Check a secret file (where it is, its mode, its content) and return its checked value.

    Where: a relative path must stay inside ``base`` (the settings folder)
    once resolved; an absolute path that is a symlink must resolve to a file
    in the link's own directory. So a link to /etc/shadow is refused.
    """
    full = file.path if file.path.is_absolute() else base / file.path
    # Paths are shown quoted: a newline in a setting stays inside its own error line.
    shown = repr(str(full))
    if not full.exists():
        raise ValueError(
            f"{shown} does not exist; create it" + (" (it is a secret: keep it out of the repo)" if file.secret else "")
        )
    if not full.is_file():
        raise ValueError(f"{shown} is not a file")
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
                f"{shown} resolves to {str(target)!r}, outside {str(folder)!r}; a secret file (or a symlink to it) must stay in "
                "that folder (relative paths: inside the settings folder; absolute paths: in the link's own folder)"
            )
        mode = stat.S_IMODE(target.stat().st_mode)
        if mode not in OWNER_ONLY:
            raise ValueError(
                f"{shown} has mode {mode:04o}; a secret must be readable by its owner only: chmod 600 it (0600 or 0400)"
            )
    try:
        content = target.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{shown}: its content is not UTF-8 text") from None
    if file.parse is None:
        return content
    try:
        return file.parse(content)
    except ValueError as error:
        raise ValueError(f"{shown}: its content {error}") from None


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
            values[file.key] = value
    return values, problems

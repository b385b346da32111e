"""Merge the declared settings layers, validate them, read their secrets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pyinfra_deploys.settings.errors import SettingsError, from_validation_error
from pyinfra_deploys.settings.model import Settings
from pyinfra_deploys.settings.rules import cross_field_problems, secret_file_problems
from pyinfra_deploys.settings.types import check_password_hash


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two settings layers: mappings merge key by key, anything else is replaced."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def settings_base_dir() -> Path:
    """Relative secret paths are read from here: $FEBRUARY_SETTINGS_DIR, else the working directory."""
    return Path(os.environ.get("FEBRUARY_SETTINGS_DIR", Path.cwd()))


def load_settings(
    data: Mapping[str, Any], overrides: Mapping[str, Any] | None = None, base: Path | None = None, check_files: bool = True
) -> Settings:
    """Validate the settings layers; raise SettingsError naming every bad key."""
    try:
        settings = Settings.model_validate(merge(data, overrides or {}))
    except ValidationError as error:
        raise from_validation_error(error) from None
    problems = cross_field_problems(settings)
    if check_files:
        problems += secret_file_problems(settings, base or settings_base_dir())
    if problems:
        raise SettingsError(problems)
    return settings


@dataclass(frozen=True)
class Secrets:
    """Secret values read on the controller at deploy time; never logged or persisted locally."""

    smarthost_password: str | None
    mailbox_hashes: dict[str, str]
    backup_password: str | None = None
    backup_ssh_key: str | None = None


def read_secrets(settings: Settings, base: Path | None = None) -> Secrets:
    base = base or settings_base_dir()

    def read(path: Path) -> str:
        return (path if path.is_absolute() else base / path).read_text().strip()

    hashes: dict[str, str] = {}
    for address, mailbox in settings.mailboxes.items():
        if mailbox.hashed_password is not None:
            hashes[address] = mailbox.hashed_password
        else:
            assert mailbox.hashed_password_file is not None
            value = read(mailbox.hashed_password_file)
            try:
                hashes[address] = check_password_hash(value)
            except ValueError as error:
                raise SettingsError([(f"mailboxes.{address}.hashed_password_file", f"its content {error}")]) from None
    password = read(settings.smarthost.password_file) if settings.smarthost else None
    backup = settings.backup
    return Secrets(
        smarthost_password=password,
        mailbox_hashes=hashes,
        backup_password=read(backup.password_file) if backup else None,
        backup_ssh_key=read(backup.ssh_key_file) + "\n" if backup and backup.ssh_key_file else None,
    )

"""Merge the declared settings layers, validate them, read their secrets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pyinfra_deploys.settings.errors import SettingsError, from_validation_error
from pyinfra_deploys.settings.model import Settings
from pyinfra_deploys.settings.rules import cross_field_problems, read_secret_files


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two settings layers: mappings merge key by key, anything else is replaced."""
    merged: dict[str, Any] = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def check_layer(value: object, label: str = "") -> Mapping[str, Any]:
    """A settings layer must be a dict; anything else is a SettingsError naming `february`, never a traceback."""
    if not isinstance(value, Mapping):
        raise SettingsError(
            [
                (
                    "",
                    f"{label + ' ' if label else ''}must be a dict of settings ({{'hostname': ..., ...}}), got {type(value).__name__} {value!r:.60}",
                )
            ]
        )
    return value


def settings_base_dir() -> Path:
    """Relative secret paths are read from here: $FEBRUARY_SETTINGS_DIR, else the working directory."""
    return Path(os.environ.get("FEBRUARY_SETTINGS_DIR", Path.cwd()))


def load_settings(
    data: Mapping[str, Any], overrides: Mapping[str, Any] | None = None, base: Path | None = None, check_files: bool = True
) -> Settings:
    """Validate the settings layers; raise SettingsError naming every bad key.

    ``check_files`` also checks every secret file: where it is, its mode and
    its content, exactly as the deploy reads it (``read_secrets``). A bake
    passes False and reads none of them.
    """
    layers = merge(check_layer(data), check_layer(overrides or {}, "february_overrides"))
    try:
        settings = Settings.model_validate(layers)
    except ValidationError as error:
        raise from_validation_error(error) from None
    problems = cross_field_problems(settings)
    if check_files:
        problems += read_secret_files(settings, base or settings_base_dir())[1]
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
    acme_credentials: str | None = None  # the DNS plugin's credentials (tls.acme.credentials_file)
    acme_server_ca: str | None = None  # the ACME server's CA (tls.acme.server_ca_file), public but the site's
    # Every local file the settings name (rules.secret_files), its checked content by settings key.
    files: dict[str, str] = field(default_factory=dict)

    def stamp_values(self) -> list[str]:
        """What the converge stamp's wanted digest takes from the files: each one's key and content.

        A secret or certificate changed in its file, with the settings unchanged, still makes the next converge run.
        """
        return [f"{key}\n{content}" for key, content in sorted(self.files.items())]


def read_secrets(settings: Settings, base: Path | None = None) -> Secrets:
    """The secret values, checked as ``load_settings`` checks them; SettingsError naming the key otherwise."""
    values, problems = read_secret_files(settings, base or settings_base_dir())
    if problems:
        raise SettingsError(problems)
    hashes: dict[str, str] = {}
    for address, mailbox in settings.mailboxes.items():
        hashes[address] = mailbox.hashed_password or values[f"mailboxes.{address}.hashed_password_file"]
    password = values["smarthost.password_file"] if settings.smarthost else None
    return Secrets(
        smarthost_password=password,
        mailbox_hashes=hashes,
        backup_password=values.get("backup.password_file"),
        backup_ssh_key=values.get("backup.ssh_key_file"),
        acme_credentials=values.get("tls.acme.credentials_file"),
        acme_server_ca=values.get("tls.acme.server_ca_file"),
        files=values,
    )

"""The settings of the host a deploy is running for, read from its inventory data."""

from __future__ import annotations

from pyinfra import host

from pyinfra_deploys.settings.inventory import settings_of
from pyinfra_deploys.settings.load import Secrets, read_secrets
from pyinfra_deploys.settings.model import Settings

_cache: dict[str, tuple[Settings, Secrets]] = {}


def baking() -> bool:
    """True while Packer bakes the golden image (host data ``february_bake``).

    deploy.py then runs its image phase alone (pyinfra_deploys/phases.py),
    and the settings are read without their secret files: a bake needs none.
    """
    return bool(host.data.get("february_bake"))


def current() -> Settings:
    """The validated settings of the current host (validated once per host)."""
    return _load()[0]


def current_secrets() -> Secrets:
    return _load()[1]


def _load() -> tuple[Settings, Secrets]:
    if host.name not in _cache:
        settings = settings_of(host.data.dict(), f"host {host.name}", check_files=not baking())
        secrets = Secrets(smarthost_password=None, mailbox_hashes={}) if baking() else read_secrets(settings)
        _cache[host.name] = (settings, secrets)
    return _cache[host.name]

"""The settings of the host a deploy is running for, read from its inventory data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyinfra import host

from pyinfra_deploys.settings.errors import SettingsError
from pyinfra_deploys.settings.load import Secrets, check_layer, load_settings, read_secrets
from pyinfra_deploys.settings.model import Settings

_cache: dict[str, tuple[Settings, Secrets]] = {}


def _layers() -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    data = host.data.get("february")
    if data is None:
        raise SettingsError([("", f"host {host.name}: no `february` settings in its inventory data (inventory/group_data/all.py)")])
    return check_layer(data), check_layer(host.data.get("february_overrides") or {}, "february_overrides")


def baking() -> bool:
    """True while Packer bakes the golden image (host data ``february_bake``).

    A bake places packages and every non-secret file, and leaves out what is
    per host: secrets (mailbox hashes, relay password), keys (TLS, DKIM), the
    host name, and running services. The first converge of a host adds them.
    """
    return bool(host.data.get("february_bake"))


def current() -> Settings:
    """The validated settings of the current host (validated once per host)."""
    return _load()[0]


def current_secrets() -> Secrets:
    return _load()[1]


def _load() -> tuple[Settings, Secrets]:
    if host.name not in _cache:
        if baking():
            settings = load_settings(*_layers(), check_files=False)
            _cache[host.name] = (settings, Secrets(smarthost_password=None, mailbox_hashes={}))
        else:
            settings = load_settings(*_layers())
            _cache[host.name] = (settings, read_secrets(settings))
    return _cache[host.name]

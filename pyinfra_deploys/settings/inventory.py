"""The one way to the settings: an inventory host's data, as pyinfra loads it.

The deploy reads the data of the host it runs for (``pyinfra_deploys.settings
.host``); every ``february`` command reads the same data of any inventory file
and host through ``inventory_host``, which loads the inventory with pyinfra's
own loader (group_data beside the file, the file's own group, host data).
Either way ``settings_of`` turns that data into validated settings.

The settings are the ``february`` key; a group may layer changes over them in
``february_overrides`` (merged key by key), as the VM inventory does over the
site's settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyinfra_deploys.settings.errors import SettingsError
from pyinfra_deploys.settings.load import Secrets, check_layer, load_settings, read_secrets
from pyinfra_deploys.settings.model import Settings


def layers(data: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The ``february`` settings and ``february_overrides`` of a host's data, both checked to be dicts."""
    settings = data.get("february")
    if settings is None:
        raise SettingsError([("", f"{where}: no `february` settings in the inventory data (inventory/group_data/all.py)")])
    return check_layer(settings, f"({where})"), check_layer(data.get("february_overrides") or {}, f"february_overrides ({where})")


def settings_of(data: Mapping[str, Any], where: str, check_files: bool = True) -> Settings:
    """Validated settings from a host's data; SettingsError names every bad key."""
    return load_settings(*layers(data, where), check_files=check_files)


@dataclass(frozen=True)
class InventoryHost:
    """One host of an inventory file: its name, its pyinfra data and its validated settings."""

    inventory: Path
    name: str
    data: dict[str, Any]
    settings: Settings

    def secrets(self) -> Secrets:
        return read_secrets(self.settings)

    @property
    def ssh_user(self) -> str:
        return str(self.data.get("ssh_user") or "root")

    @property
    def ssh_hostname(self) -> str:
        return str(self.data.get("ssh_hostname") or self.name)


class InventoryError(ValueError):
    """The inventory file or host cannot be used."""


def inventory_host(inventory: Path, host: str | None = None, check_files: bool = True) -> InventoryHost:
    """Load ``inventory`` the way ``pyinfra INVENTORY deploy.py`` does and validate ``host``'s settings.

    ``host`` may be left out when the inventory has exactly one host.
    """
    from pyinfra.api import State
    from pyinfra.context import ctx_state
    from pyinfra_cli.inventory import make_inventory_from_files

    if not inventory.is_file():
        raise InventoryError(f"{inventory}: no such inventory file")
    cwd = os.getcwd()
    try:
        with ctx_state.use(State(check_for_changes=False)):
            loaded = make_inventory_from_files(str(inventory), cwd=cwd)
    except Exception as error:  # noqa: BLE001 (an inventory is Python: report whatever it raised, in one line)
        raise InventoryError(f"{inventory}: could not be loaded: {type(error).__name__}: {error}") from None
    names = [h.name for h in loaded]
    if host is None:
        if len(names) != 1:
            raise InventoryError(f"{inventory} has {len(names)} hosts ({', '.join(names)}): say which with --host")
        host = names[0]
    if host not in names:
        raise InventoryError(f"{inventory} has no host {host!r} (hosts: {', '.join(names) or 'none'})")
    data = loaded.get_host(host).data.dict()
    settings = settings_of(data, f"{inventory}:{host}", check_files=check_files)
    return InventoryHost(inventory=inventory, name=host, data=data, settings=settings)

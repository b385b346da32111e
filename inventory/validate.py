"""Validate an inventory's settings layers when the inventory file loads."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

from pyinfra_deploys.settings import SettingsError, load_settings
from pyinfra_deploys.settings.load import check_layer, merge

GROUP_DATA = Path(__file__).resolve().parent / "group_data"


def group_layers(*groups: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The `february` settings of group `all` and the `february_overrides` of the others, merged in order."""
    data: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    for group in groups:
        module = runpy.run_path(str(GROUP_DATA / f"{group}.py"))
        data = merge(data, check_layer(module.get("february", {}), f"(group_data/{group}.py)"))
        overrides = merge(overrides, check_layer(module.get("february_overrides", {}), f"february_overrides (group_data/{group}.py)"))
    return data, overrides


def validate_groups(*groups: str) -> None:
    """Exit with every problem named when the settings are wrong."""
    try:
        load_settings(*group_layers(*groups))
    except SettingsError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None

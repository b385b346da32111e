"""The session VM's site as tests change it: its inventory with other settings, and its generations."""

from __future__ import annotations

import copy
import json
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from february.paths import REPO
from february.vm import lifecycle
from tests.cli import february


def generations(inventory: Path = lifecycle.VM_INVENTORY) -> list[dict[str, Any]]:
    """`february generations --json` of the inventory's host, oldest first."""
    done = february("generations", "-i", str(inventory), "--json")
    assert done.returncode == 0, done.stderr
    listed: list[dict[str, Any]] = json.loads(done.stdout)
    return listed


def current_generation(inventory: Path = lifecycle.VM_INVENTORY) -> dict[str, Any]:
    """The generation the inventory's host is on (exactly one is marked current)."""
    (current,) = [g for g in generations(inventory) if g["current"]]
    return current


def vm_inventory_with(folder: Path, name: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """inventory/vm.py with the VM group's overrides, changed by ``change``, in ``folder``."""
    (folder / "group_data").symlink_to(REPO / "inventory" / "group_data")
    overrides = copy.deepcopy(runpy.run_path(str(REPO / "inventory" / "group_data" / "vm.py"))["february_overrides"])
    change(overrides)
    (host,) = runpy.run_path(str(lifecycle.VM_INVENTORY))["vm"]
    host_name, data = host
    path = folder / f"{name}.py"
    path.write_text(f"vm = [({host_name!r}, {{**{data!r}, 'february_overrides': {overrides!r}}})]\n")
    return path

"""Imports go one way: the deploy side stands alone, images sit on it, february on both.

- the deploy side (deploy.py, pyinfra_deploys/, files/, inventory/) imports
  nothing from february/ or images/; the exception is the VM inventory
  (inventory/vm.py, inventory/group_data/vm.py), which is the VM's own and
  reads its slot from february.vm.config;
- images/ imports only itself and the deploy side.

Every import statement counts, also one inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from february.paths import REPO
from tests.sources import python_files

VM_INVENTORY = {"inventory/vm.py", "inventory/group_data/vm.py"}
OURS = ("pyinfra_deploys", "inventory", "images", "february", "tests", "deploy")


def our_imports(path: Path) -> set[str]:
    """The top-level package of every import of ours in ``path``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(OURS)


DEPLOY_SIDE = [
    p for p in python_files("deploy.py", "pyinfra_deploys", "files", "inventory") if str(p.relative_to(REPO)) not in VM_INVENTORY
]


@pytest.mark.parametrize("path", DEPLOY_SIDE, ids=lambda p: str(p.relative_to(REPO)))
def test_the_deploy_side_imports_only_itself(path: Path) -> None:
    assert our_imports(path) <= {"pyinfra_deploys", "inventory"}


@pytest.mark.parametrize("path", python_files("images"), ids=lambda p: str(p.relative_to(REPO)))
def test_images_import_only_themselves_and_the_deploy_side(path: Path) -> None:
    assert our_imports(path) <= {"images", "pyinfra_deploys"}


def test_the_walk_sees_the_modules() -> None:
    assert len(DEPLOY_SIDE) > 20 and REPO / "images" / "pipeline.py" in python_files("images")
    assert our_imports(REPO / "inventory" / "vm.py") == {"february"}

"""One way to put things on the host: the roles go through ``pyinfra_deploys.place``, and each helper there registers its path.

The roles are read with ``ast``, not run. No role imports
``pyinfra.operations.files`` or asks pyinfra's file facts: a file, a folder,
a secret or "is it there yet" goes through ``place`` (``place``,
``place_own``, ``place_file``, ``place_secret``, ``seed``, ``folder``,
``exists``, ``absent``). Each of those registers its path with the converge
stamp (``manage_path``, or ``manage_presence`` for a file the service keeps)
and with the one observation of the placed files, so a role cannot forget.

Limits: files made by ``server.shell`` commands (a DKIM key, a self-signed
certificate) are inside shell text; they are registered by hand next to the
command (``manage_path(key)``, ``manage_path(CERT, KEY)``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from february.paths import REPO

ROLES = sorted((REPO / "pyinfra_deploys" / "roles").glob("*.py"))
PLACE = REPO / "pyinfra_deploys" / "place.py"
REGISTER = {"manage_path", "manage_presence"}
FORBIDDEN_MODULES = {"pyinfra.operations.files", "pyinfra.facts.files"}


def functions(path: Path) -> list[ast.FunctionDef]:
    return [node for node in ast.walk(ast.parse(path.read_text(), str(path))) if isinstance(node, ast.FunctionDef)]


def calls(function: ast.FunctionDef) -> list[ast.Call]:
    return [node for node in ast.walk(function) if isinstance(node, ast.Call)]


def registered(function: ast.FunctionDef) -> set[str]:
    return {
        ast.dump(arg)
        for call in calls(function)
        if isinstance(call.func, ast.Name) and call.func.id in REGISTER
        for arg in call.args
    }


def file_imports(path: Path) -> list[str]:
    """Each import of pyinfra's file operations or facts in ``path``, as written."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            names = {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
            if names & FORBIDDEN_MODULES:
                found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
        elif isinstance(node, ast.Import):
            found += [f"{path.name}:{node.lineno} import {a.name}" for a in node.names if a.name in FORBIDDEN_MODULES]
    return found


@pytest.mark.parametrize("path", ROLES, ids=lambda p: p.name)
def test_no_role_puts_files_or_asks_for_them_but_through_place(path: Path) -> None:
    assert file_imports(path) == []


def test_the_check_sees_each_spelling_of_the_import(tmp_path: Path) -> None:
    role = tmp_path / "role.py"
    role.write_text(
        "from pyinfra.operations import files, server\n"
        "from pyinfra.facts.files import File\n"
        "import pyinfra.operations.files\n"
        "from pyinfra.operations import server\n"
    )
    assert [line.split()[0] for line in file_imports(role)] == ["role.py:1", "role.py:2", "role.py:3"]


def test_the_place_helpers_register_their_path() -> None:
    argument = {
        "place": "dest",
        "place_own": "dest",
        "place_file": "dest",
        "place_secret": "dest",
        "seed": "dest",
        "folder": "path",
        "absent": "path",
    }
    helpers = [f for f in functions(PLACE) if f.name in argument]
    assert sorted(f.name for f in helpers) == sorted(argument)
    for function in helpers:
        assert ast.dump(ast.Name(argument[function.name], ast.Load())) in registered(function), function.name

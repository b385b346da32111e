"""Every path a role puts on the host is observed by the converge stamp (a static check).

The roles are read with ``ast``, not run. In each function, every
``files.*`` operation's ``path=`` or ``dest=`` expression must also be passed
to ``manage_path`` or ``manage_presence`` in the same function (compared as
written: the same constant, name, attribute or f-string). ``place`` and
``place_secret`` register their ``dest``, ``absent`` its ``path``
(checked below), so a role's calls of them need nothing more.

Limits: files made by ``server.shell`` commands (a DKIM key, a self-signed
certificate) are not seen here: their paths are inside shell text, so they
are registered by hand next to the command (``manage_path(key)``,
``manage_path(CERT, KEY)``). A path computed in one function and placed in
another would need the registration where the operation is.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from february.paths import REPO

ROLES = sorted((REPO / "pyinfra_deploys" / "roles").glob("*.py"))
REGISTER = {"manage_path", "manage_presence"}


def functions(path: Path) -> list[ast.FunctionDef]:
    return [node for node in ast.walk(ast.parse(path.read_text(), str(path))) if isinstance(node, ast.FunctionDef)]


def calls(function: ast.FunctionDef) -> list[ast.Call]:
    return [node for node in ast.walk(function) if isinstance(node, ast.Call)]


def is_files_operation(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name) and call.func.value.id == "files"


def registered(function: ast.FunctionDef) -> set[str]:
    return {
        ast.dump(arg)
        for call in calls(function)
        if isinstance(call.func, ast.Name) and call.func.id in REGISTER
        for arg in call.args
    }


def unregistered(path: Path) -> list[str]:
    missing: list[str] = []
    for function in functions(path):
        known = registered(function)
        for call in calls(function):
            if not is_files_operation(call):
                continue
            for keyword in call.keywords:
                if keyword.arg in ("path", "dest") and ast.dump(keyword.value) not in known:
                    missing.append(
                        f"{path.name}:{call.lineno} {ast.unparse(call.func)}({keyword.arg}={ast.unparse(keyword.value)})"
                    )
    return missing


@pytest.mark.parametrize("path", ROLES, ids=lambda p: p.name)
def test_every_file_operation_of_a_role_is_observed(path: Path) -> None:
    assert unregistered(path) == []


def test_the_place_helpers_register_their_path() -> None:
    argument = {"place": "dest", "place_secret": "dest", "absent": "path"}
    helpers = [f for f in functions(REPO / "pyinfra_deploys" / "place.py") if f.name in argument]
    assert len(helpers) == len(argument)
    for function in helpers:
        assert ast.dump(ast.Name(argument[function.name], ast.Load())) in registered(function), function.name


def test_the_check_sees_an_unregistered_operation(tmp_path: Path) -> None:
    role = tmp_path / "role.py"
    role.write_text(
        "def role():\n"
        "    manage_path('/etc/a')\n"
        "    files.put(name='a', src='x', dest='/etc/a')\n"
        "    files.directory(name='b', path=B)\n"
    )
    assert unregistered(role) == ["role.py:4 files.directory(path=B)"]

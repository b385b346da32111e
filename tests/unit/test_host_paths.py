"""Each host path is declared once, in pyinfra_deploys/layout.py.

The product code (deploy.py, pyinfra_deploys/, february/, images/,
inventory/) spells no path of a February host in a string: it reads
``layout``. Templates under files/ get ``layout`` as context and spell none
either. Docstrings and comments may name paths (they explain, nothing reads
them); everything else that looks like a host path fails here, unless ALLOWED
says why it is not a host fact.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from february.paths import REPO
from pyinfra_deploys import layout
from tests.sources import python_files

PRODUCT = ("deploy.py", "pyinfra_deploys", "february", "images", "inventory")
LAYOUT = REPO / "pyinfra_deploys" / "layout.py"

# A path under one of these, where a path starts: not inside a word, a relative
# path or a URL (files/etc/..., https://host/var/...).
HOST_PATH = re.compile(r"(?<![\w./-])/(?:etc|var|usr|srv|opt|run|root|home)/[^\s\"'`;,)}\]]*")

# (file, the path's beginning) -> why it is not a host fact.
ALLOWED: dict[tuple[str, str], str] = {
    # The build machine's UEFI firmware (its ovmf package) that QEMU boots, not a February host's.
    ("images/firmware.py", "/usr/share/OVMF/"): "the build machine's firmware",
    # The PATH of the build machine's gpg, which checks the archive key file.
    ("images/base_layer.py", "/usr/bin:/bin"): "the build machine's PATH",
    # An example value of the owner's backup.repository setting (in a description and an error
    # message), and the local VM's own choice of it: the owner decides it, not the deploy.
    ("pyinfra_deploys/settings/model.py", "/srv/backup/february"): "an example of a setting's value",
    ("pyinfra_deploys/settings/types.py", "/srv/backup/february"): "an example of a setting's value",
    ("inventory/group_data/vm.py", "/srv/backup/february"): "the VM inventory's setting value",
    # Templates: an executable (systemd wants an absolute ExecStart path) and the Dovecot package's
    # own DH parameters, read where the package puts them; neither is a place the deploy chooses.
    ("files/etc/systemd/system/rspamd.service.d/february.conf.j2", "/usr/bin/touch"): "an executable",
    ("files/etc/dovecot/dovecot.conf.j2", "/usr/share/dovecot/dh.pem"): "the dovecot-core package's file",
}


def product_files() -> list[Path]:
    return [path for path in python_files(*PRODUCT) if path != LAYOUT]


def docstrings(tree: ast.AST) -> set[int]:
    """The ids of the module, class and function docstrings' constants."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def python_paths(source: str) -> list[tuple[int, str]]:
    """(line, path) of every host path in a string of ``source`` that is not a docstring (f-string parts included)."""
    tree = ast.parse(source)
    skip = docstrings(tree)
    return sorted(
        (node.lineno, match[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        for match in HOST_PATH.finditer(node.value)
    )


def text_paths(text: str) -> list[tuple[int, str]]:
    return [(number, match[0]) for number, line in enumerate(text.splitlines(), 1) for match in HOST_PATH.finditer(line)]


def unexplained(name: str, found: list[tuple[int, str]]) -> list[str]:
    return [
        f"{name}:{line}: {path}"
        for line, path in found
        if not any(file == name and path.startswith(start) for file, start in ALLOWED)
    ]


@pytest.mark.parametrize("path", product_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_product_code_spells_no_host_path(path: Path) -> None:
    name = str(path.relative_to(REPO))
    assert unexplained(name, python_paths(path.read_text())) == [], "declare it in pyinfra_deploys/layout.py"


TEMPLATES = sorted(path for path in (REPO / "files").rglob("*") if path.is_file())


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(REPO)))
def test_templates_spell_no_host_path(path: Path) -> None:
    name = str(path.relative_to(REPO))
    assert unexplained(name, text_paths(path.read_text())) == [], "use {{ layout.NAME }} (pyinfra_deploys/layout.py)"


def test_every_allowed_entry_is_still_needed() -> None:
    """An exception whose path is gone goes too, so the list stays the small set of real exceptions."""
    spelled: set[tuple[str, str]] = set()
    for path in product_files():
        spelled |= {(str(path.relative_to(REPO)), found) for _, found in python_paths(path.read_text())}
    for path in TEMPLATES:
        spelled |= {(str(path.relative_to(REPO)), found) for _, found in text_paths(path.read_text())}
    assert [key for key in ALLOWED if not any(f == key[0] and p.startswith(key[1]) for f, p in spelled)] == []


def test_the_check_sees_paths_in_code_and_not_in_docstrings() -> None:
    source = '''"""Places /etc/example (a docstring)."""
ANSWERS = "/var/lib/example/answers"


def role(user: str) -> None:
    """Runs /usr/local/sbin/example."""
    run(f"debconf-set-selections {ANSWERS} && chown {user} /srv/example/x")
    place("/etc/postfix/main.cf")
    url = "https://example.test/etc/not-a-host-path files/etc/postfix/main.cf.j2"
'''
    assert python_paths(source) == [(2, "/var/lib/example/answers"), (7, "/srv/example/x"), (8, "/etc/postfix/main.cf")]
    assert text_paths("alias_maps = hash:/etc/aliases\n# files/etc/x.j2\n") == [(1, "/etc/aliases")]
    assert len(product_files()) > 50 and len(TEMPLATES) > 25


def test_layout_declares_absolute_paths() -> None:
    values = [value for name, value in vars(layout).items() if name.isupper() and isinstance(value, str)]
    paths = [value for value in values if value.startswith("/")]
    assert len(paths) > 40
    assert all(HOST_PATH.fullmatch(path) for path in paths), [path for path in paths if not HOST_PATH.fullmatch(path)]

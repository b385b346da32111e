"""The image phase and the host phase: the record of what the image phase placed, and roles that never ask whether they bake."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from images.pipeline import parse_image_phase
from pyinfra_deploys import phases
from pyinfra_deploys.repo import REPO


def test_the_record_lists_each_regular_file_with_its_digest_mode_and_owner(tmp_path: Path) -> None:
    config = tmp_path / "main.cf"
    config.write_text("myhostname = mail.example.test\n")
    config.chmod(0o640)
    (tmp_path / "link.cf").symlink_to(config)
    record = tmp_path / "record.txt"
    paths = [str(config), str(tmp_path / "link.cf"), str(tmp_path / "missing.cf"), str(tmp_path / "with space.cf")]
    (tmp_path / "with space.cf").write_text("x\n")
    subprocess.run(["sh", "-c", phases.record_command(paths, str(record))], check=True)
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True, check=True).stdout.strip()
    parsed = parse_image_phase(record.read_text())
    assert parsed["files"] == {
        str(config): {"sha256": hashlib.sha256(config.read_bytes()).hexdigest(), "mode": "640", "user": user, "group": group},
        str(tmp_path / "with space.cf"): {
            "sha256": hashlib.sha256(b"x\n").hexdigest(),
            "mode": "644",
            "user": user,
            "group": group,
        },
    }
    lines = sorted(record.read_text().splitlines())
    assert parsed["digest"] == hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()
    assert not Path(f"{record}.new").exists()
    assert os.stat(record).st_mode & 0o777 == 0o644


def test_the_digest_does_not_depend_on_the_order_of_the_lines() -> None:
    one = "a 644 root root /etc/a\nb 644 root root /etc/b\n"
    assert parse_image_phase(one) == parse_image_phase("b 644 root root /etc/b\na 644 root root /etc/a\n")


@pytest.mark.parametrize("role", sorted((REPO / "pyinfra_deploys" / "roles").glob("*.py")), ids=lambda p: p.name)
def test_no_role_asks_whether_it_bakes(role: Path) -> None:
    """deploy.py chooses the phases; a role only says which of its parts belong to which."""
    assert not re.search(r"\bbaking\b", role.read_text())

"""The image phase and the host phase: the record of what the image phase placed, and roles that never ask whether they bake."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest

from pyinfra_deploys import image_record
from pyinfra_deploys.repo import REPO


def test_the_record_lists_each_regular_file_with_its_digest_mode_and_owner(tmp_path: Path) -> None:
    config = tmp_path / "main.cf"
    config.write_text("myhostname = mail.example.test\n")
    config.chmod(0o640)
    (tmp_path / "link.cf").symlink_to(config)
    record = tmp_path / "record.txt"
    paths = [str(config), str(tmp_path / "link.cf"), str(tmp_path / "missing.cf"), str(tmp_path / "with space.cf")]
    (tmp_path / "with space.cf").write_text("x\n")
    subprocess.run(["sh", "-c", image_record.record_command(paths, str(record))], check=True)
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True, check=True).stdout.strip()
    parsed = image_record.parse_record(record.read_text())
    assert parsed["files"] == {
        str(config): {"sha256": hashlib.sha256(config.read_bytes()).hexdigest(), "mode": "640", "user": user, "group": group},
        str(tmp_path / "with space.cf"): {
            "sha256": hashlib.sha256(b"x\n").hexdigest(),
            "mode": "644",
            "user": user,
            "group": group,
        },
    }
    lines = "".join(f"{f['sha256']} {f['mode']} {f['user']} {f['group']} {path}\n" for path, f in sorted(parsed["files"].items()))
    assert parsed["digest"] == hashlib.sha256(lines.encode()).hexdigest()
    assert not Path(f"{record}.new").exists()
    assert os.stat(record).st_mode & 0o777 == 0o644


def test_the_digest_does_not_depend_on_the_order_of_the_lines() -> None:
    lines = ["stat 644 root root /etc/a", "stat 600 root root /etc/b", "aa  /etc/a", "bb  /etc/b", "packages 0"]
    one = image_record.parse_record("\n".join(lines))
    assert one == image_record.parse_record("\n".join(reversed(lines)))
    assert one["files"]["/etc/b"] == {"sha256": "bb", "mode": "600", "user": "root", "group": "root"}


@pytest.mark.parametrize("role", sorted((REPO / "pyinfra_deploys" / "roles").glob("*.py")), ids=lambda p: p.name)
def test_no_role_asks_whether_it_bakes(role: Path) -> None:
    """deploy.py chooses the phases; a role only says which of its parts belong to which."""
    assert not re.search(r"\bbaking\b", role.read_text())

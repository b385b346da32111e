"""A missing tool, a busy port or a full disk is one line naming what to do."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from february import preflight
from february.paths import REPO


def test_every_tool_a_command_needs_is_in_the_host_package_list() -> None:
    owners = preflight.package_of()
    for command in {*preflight.IMAGE_TOOLS, *preflight.FLASH_TOOLS, *preflight.SEED_TOOLS}:
        assert command in owners, command


def test_a_missing_tool_names_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(preflight.PreflightError) as caught:
        preflight.require_tools("mmdebstrap", "qemu-img", "sfdisk")
    message = str(caught.value)
    assert "fdisk mmdebstrap qemu-utils" in message and "./bootstrap" in message and "\n" not in message


def test_february_vm_without_its_tools_says_so_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "february", "vm"], capture_output=True, text=True, cwd=REPO, env={"PATH": "/nonexistent"}
    )
    assert done.returncode == 2
    assert "missing host packages:" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("argv", "packages"),
    [
        (["image", "flash", "february.raw", "disk.img", "--size", "8G", "--yes"], "dosfstools fdisk mtools"),
        (["image", "seed", "--out", "seed.img"], "dosfstools mtools"),
    ],
)
def test_image_flash_and_seed_without_their_tools_say_so_in_one_line(tmp_path: Path, argv: list[str], packages: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "february", *argv], capture_output=True, text=True, cwd=tmp_path, env={"PATH": str(tmp_path)}
    )
    assert done.returncode == 2, done.stderr
    assert f"missing host packages: {packages} (run ./bootstrap" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_busy_port_is_named() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(preflight.PreflightError, match=f"127.0.0.1:{port} \\(ssh\\)"):
            preflight.require_free_ports({"ssh": port})


def test_too_little_disk_is_named(tmp_path: Path) -> None:
    with pytest.raises(preflight.PreflightError, match="needs 1000000 GiB free"):
        preflight.require_free_space(tmp_path / "not" / "yet", 1_000_000, "a test")

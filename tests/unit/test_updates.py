"""Security updates: the unattended-upgrades files, as rendered and as apt parses them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyinfra_deploys.place import render
from pyinfra_deploys.settings import load_settings


def test_unattended_upgrades_take_ubuntus_security_pocket_only(sample: dict[str, Any]) -> None:
    settings = load_settings(dict(sample, updates={"reboot": True, "reboot_time": "03:05"}))
    text = render("/etc/apt/apt.conf.d/52february-unattended", s=settings)
    patterns = [line.strip() for line in text.splitlines() if line.strip().startswith('"origin=')]
    assert patterns == ['"origin=Ubuntu,archive=${distro_codename}-security";']
    assert 'Unattended-Upgrade::Automatic-Reboot "true";' in text
    assert 'Unattended-Upgrade::Automatic-Reboot-Time "03:05";' in text
    periodic = render("/etc/apt/apt.conf.d/20auto-upgrades", s=settings)
    assert 'APT::Periodic::Unattended-Upgrade "1";' in periodic and 'APT::Periodic::Update-Package-Lists "1";' in periodic
    off = load_settings(dict(sample, updates={"enabled": False, "reboot": False}))
    assert 'Unattended-Upgrade::Automatic-Reboot "false";' in render("/etc/apt/apt.conf.d/52february-unattended", s=off)
    assert 'APT::Periodic::Unattended-Upgrade "0";' in render("/etc/apt/apt.conf.d/20auto-upgrades", s=off)


@pytest.mark.skipif(shutil.which("apt-config") is None, reason="needs apt-config")
def test_apt_parses_the_unattended_upgrades_file(tmp_path: Path, sample: dict[str, Any]) -> None:
    # As the package's 50unattended-upgrades would come first: our file clears its origins.
    package_default = 'Unattended-Upgrade::Allowed-Origins { "${distro_id}:${distro_codename}"; "${distro_id}ESMApps:${distro_codename}-apps-security"; };\n'
    conf = tmp_path / "apt.conf"
    conf.write_text(package_default + render("/etc/apt/apt.conf.d/52february-unattended", s=load_settings(sample)))
    done = subprocess.run(
        ["apt-config", "-c", str(conf), "dump", "Unattended-Upgrade"], capture_output=True, text=True, check=True
    )
    assert "ESMApps" not in done.stdout and "${distro_id}" not in done.stdout  # the package's origins are cleared
    assert 'Unattended-Upgrade::Origins-Pattern:: "origin=Ubuntu,archive=${distro_codename}-security";' in done.stdout
    assert 'Unattended-Upgrade::Automatic-Reboot-Time "04:30";' in done.stdout

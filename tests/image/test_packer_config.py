"""The Packer template is formatted, valid for each OS, and keeps the build VM's network closed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from images.pipeline import OS_LOGIN, PACKER, PACKER_DIR, make_build_key, packer_argv, write_bake_seed

ENV = {**os.environ, "CHECKPOINT_DISABLE": "1"}


def test_packer_files_are_formatted() -> None:
    done = subprocess.run(
        [PACKER, "fmt", "-check", "-diff", str(PACKER_DIR)], capture_output=True, text=True, env=ENV, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("os_name", sorted(OS_LOGIN))
def test_packer_validate_passes_with_each_vars_file(os_name: str, tmp_path: Path) -> None:
    key = make_build_key(tmp_path / "key")
    seed = write_bake_seed(tmp_path / "seed", OS_LOGIN[os_name], key.with_suffix(".pub").read_text().strip())
    variables = {
        "efi_vars_file": str(tmp_path / "OVMF_VARS.fd"),
        "seed_dir": str(seed),
        "ssh_private_key_file": str(key),
        "packages_file": str(tmp_path / "packages.txt"),
        "output_directory": str(tmp_path / "out"),
    }
    if os_name == "debian12":
        # The pipeline passes the cached base's path and sha256.
        variables |= {"iso_url": str(tmp_path / "base.qcow2"), "iso_checksum": "sha256:" + "0" * 64}
    else:
        # ubuntu2404.pkrvars.hcl pins `file:<SHA256SUMS url>`, which validate
        # would download; no traffic may leave this machine, so a sha256 stands in.
        variables |= {"iso_checksum": "sha256:" + "0" * 64}
    done = subprocess.run(packer_argv("validate", os_name, variables), capture_output=True, text=True, env=ENV, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_packer_validate_rejects_an_unknown_accelerator(tmp_path: Path) -> None:
    key = make_build_key(tmp_path / "key")
    variables = {
        "iso_url": str(tmp_path / "base.qcow2"),
        "iso_checksum": "sha256:" + "0" * 64,
        "efi_vars_file": str(tmp_path / "OVMF_VARS.fd"),
        "seed_dir": str(write_bake_seed(tmp_path / "seed", "root", "ssh-ed25519 AAAA")),
        "ssh_private_key_file": str(key),
        "packages_file": str(tmp_path / "packages.txt"),
        "output_directory": str(tmp_path / "out"),
        "accelerator": "xen",
    }
    done = subprocess.run(packer_argv("validate", "debian12", variables), capture_output=True, text=True, env=ENV, check=False)
    assert done.returncode != 0
    assert "accelerator must be one of" in done.stdout + done.stderr


def test_the_debian_build_vm_has_a_restricted_network() -> None:
    sources = (PACKER_DIR / "sources.pkr.hcl").read_text()
    assert 'restrict=${var.restrict_network ? "on" : "off"}' in sources
    assert "hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22" in sources
    assert "restrict_network = true" in (PACKER_DIR / "debian12.pkrvars.hcl").read_text()

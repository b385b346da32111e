"""The Packer template is formatted, valid for each start of each OS, and keeps the native bake's network closed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from images.oses import RELEASES
from images.pipeline import PACKER, PACKER_DIR, make_build_key, packer_argv, pkrvars_required, starts_from_base, write_bake_seed
from pyinfra_deploys import layout

ENV = {**os.environ, "CHECKPOINT_DISABLE": "1"}


def test_packer_files_are_formatted() -> None:
    done = subprocess.run(
        [PACKER, "fmt", "-check", "-diff", str(PACKER_DIR)], capture_output=True, text=True, env=ENV, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


STARTS = sorted({start for release in RELEASES.values() for start in (release.pkrvars, release.cloud_pkrvars) if start})


def test_every_vars_file_is_a_declared_start() -> None:
    assert sorted(path.name.removesuffix(".pkrvars.hcl") for path in PACKER_DIR.glob("*.pkrvars.hcl")) == STARTS


@pytest.mark.parametrize("start", STARTS)
def test_packer_validate_passes_with_each_vars_file(start: str, tmp_path: Path) -> None:
    key = make_build_key(tmp_path / "key")
    seed = write_bake_seed(
        tmp_path / "seed", pkrvars_required(start, "ssh_username"), key.with_suffix(".pub").read_text().strip()
    )
    variables = {
        "efi_vars_file": str(tmp_path / "OVMF_VARS.fd"),
        "seed_dir": str(seed),
        "ssh_private_key_file": str(key),
        "packages_file": str(tmp_path / "packages.txt"),
        "image_phase_record": layout.IMAGE_PHASE_RECORD,
        "image_phase_file": str(tmp_path / "image-phase.txt"),
        "output_directory": str(tmp_path / "out"),
    }
    if starts_from_base(start):
        # The pipeline passes the cached base's path and sha256.
        variables |= {"iso_url": str(tmp_path / "base.qcow2"), "iso_checksum": "sha256:" + "0" * 64}
    else:
        # A cloud start pins `file:<SHA256SUMS url>`, which validate
        # would download; no traffic may leave this machine, so a sha256 stands in.
        variables |= {"iso_checksum": "sha256:" + "0" * 64}
    done = subprocess.run(packer_argv("validate", start, variables), capture_output=True, text=True, env=ENV, check=False)
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
        "image_phase_record": layout.IMAGE_PHASE_RECORD,
        "image_phase_file": str(tmp_path / "image-phase.txt"),
        "output_directory": str(tmp_path / "out"),
        "accelerator": "xen",
    }
    done = subprocess.run(packer_argv("validate", "ubuntu2404", variables), capture_output=True, text=True, env=ENV, check=False)
    assert done.returncode != 0
    assert "accelerator must be one of" in done.stdout + done.stderr


def test_the_native_bake_vm_has_a_restricted_network() -> None:
    sources = (PACKER_DIR / "sources.pkr.hcl").read_text()
    assert 'restrict=${var.restrict_network ? "on" : "off"}' in sources
    assert "hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22" in sources
    for release in RELEASES.values():
        assert pkrvars_required(release.pkrvars, "restrict_network") == "true"


def test_the_template_has_one_source_and_no_os_branch() -> None:
    text = "".join(path.read_text() for path in PACKER_DIR.glob("*.pkr.hcl"))
    assert text.count('source "qemu"') == 1
    for name in RELEASES:
        assert name not in text

"""The Ubuntu 24.04 cloud-image bake: its Packer arguments, and a wrong checksum stopping it before anything boots.

The real cloud image cannot be fetched here; a small file and a SHA256SUMS
served on loopback stand in for cloud-images.ubuntu.com (under a second).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from images.packer_stream import packer_env
from images.pipeline import (
    PACKER,
    PACKER_DIR,
    SOURCE,
    bake_variables,
    make_build_key,
    packer_argv,
    pkrvars_value,
    write_bake_seed,
)
from pyinfra_deploys import layout


def test_the_ubuntu_bake_takes_the_pinned_cloud_image_from_its_vars_file() -> None:
    per_build = {"accelerator": "tcg", "output_directory": "/tmp/x"}
    variables = bake_variables("ubuntu2404-cloud", per_build)
    assert variables == per_build  # no iso_url/iso_checksum override: the pkrvars pin them
    argv = packer_argv("build", "ubuntu2404-cloud", variables)
    assert argv[:4] == [PACKER, "build", "-machine-readable", f"-only={SOURCE}"]
    assert f"-var-file={PACKER_DIR / 'ubuntu2404-cloud.pkrvars.hcl'}" in argv
    assert not any(arg.startswith(("iso_url=", "iso_checksum=")) for arg in argv)
    assert (pkrvars_value("ubuntu2404-cloud", "iso_url") or "").startswith("https://cloud-images.ubuntu.com/")
    assert (pkrvars_value("ubuntu2404-cloud", "iso_checksum") or "").startswith("file:https://cloud-images.ubuntu.com/")
    # The deploy installs the mail packages from the archive during the bake.
    assert pkrvars_value("ubuntu2404-cloud", "restrict_network") == "false"


def test_the_native_bake_needs_its_cached_base() -> None:
    with pytest.raises(ValueError, match="cached base"):
        bake_variables("ubuntu2404", {})


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback "cloud-images" folder: (base URL, its directory)."""
    folder = tmp_path / "srv"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(shutil.which(PACKER) is None, reason="needs packer")
def test_a_checksum_mismatch_stops_the_ubuntu_build_before_any_boot(mirror: tuple[str, Path], tmp_path: Path) -> None:
    url, folder = mirror
    (folder / "noble-server-cloudimg-amd64.img").write_bytes(b"not the cloud image" * 1000)
    # The SHA256SUMS form Ubuntu publishes: "<sha256> *<filename>" (binary-mode asterisk).
    (folder / "SHA256SUMS").write_text(f"{'0' * 64} *noble-server-cloudimg-amd64.img\n")
    key = make_build_key(tmp_path / "key")
    variables = {
        "iso_url": f"{url}/noble-server-cloudimg-amd64.img",
        "iso_checksum": f"file:{url}/SHA256SUMS",
        "accelerator": "tcg",
        "cpu_model": "max",
        "efi_vars_file": str(tmp_path / "OVMF_VARS.fd"),
        "seed_dir": str(write_bake_seed(tmp_path / "seed", "ubuntu", key.with_suffix(".pub").read_text().strip())),
        "ssh_private_key_file": str(key),
        "packages_file": str(tmp_path / "packages.txt"),
        "image_phase_record": layout.IMAGE_PHASE_RECORD,
        "image_phase_file": str(tmp_path / "image-phase.txt"),
        "output_directory": str(tmp_path / "out"),
    }
    (tmp_path / "packer-tmp").mkdir()
    done = subprocess.run(
        packer_argv("build", "ubuntu2404-cloud", bake_variables("ubuntu2404-cloud", variables)),
        capture_output=True,
        text=True,
        env=packer_env(tmp_path / "packer-tmp", tmp_path / "cache"),
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Checksums did not match" in output, output
    # Packer found the file's line despite the asterisk: it expected our (wrong) value.
    assert f"Expected: {'0' * 64}" in output, output
    for later_step in ("Creating required virtual machine disks", "Starting VM", "qemu-system", "Waiting for SSH"):
        assert later_step not in output, output
    assert not (tmp_path / "out").exists()

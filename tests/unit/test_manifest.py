"""The base layer and the golden image write their manifest.json through one writer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from images import base_image
from images.base_layer import BaseLayer
from images.manifest import MANIFEST, read_manifest, write_manifest
from images.pipeline import ARTIFACTS, artifact_record, cached


def test_a_written_manifest_reads_back_as_indented_json(tmp_path: Path) -> None:
    record = {"cache_key": "ab" * 32, "installed_versions": {"postfix": "3.7.11-0+deb12u1"}, "build_seconds": 61.5}
    path = write_manifest(tmp_path, record)
    assert path == tmp_path / MANIFEST
    assert read_manifest(tmp_path) == record
    text = path.read_text()
    assert text == json.dumps(record, indent=2) + "\n"


def test_the_golden_image_cache_trusts_a_manifest_from_the_writer(tmp_path: Path) -> None:
    for name in ARTIFACTS:
        (tmp_path / name).write_bytes(b"disk " + name.encode())
    write_manifest(tmp_path, {"artifacts": {name: artifact_record(tmp_path / name) for name in ARTIFACTS}})
    assert cached(tmp_path, verify=True) is not None


NOBLE_SECURITY_INRELEASE = """-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

Origin: Ubuntu
Label: Ubuntu
Suite: noble-security
Version: 24.04
Codename: noble
Date: Sun, 06 Dec 2026 22:04:11 UTC
Architectures: amd64 arm64 armhf i386 ppc64el riscv64 s390x
Components: main restricted universe multiverse
SHA256:
 0123 1000 main/binary-amd64/Packages
-----BEGIN PGP SIGNATURE-----
-----END PGP SIGNATURE-----
"""


def test_the_base_layer_records_its_inputs_and_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """base_image() with its slow steps stubbed: the manifest it leaves beside disk.qcow2."""
    monkeypatch.setenv("FEBRUARY_CACHE", str(tmp_path))

    def build_root(layer: BaseLayer, root: Path, on_line: object = None, releases: Path | None = None) -> None:
        root.mkdir()
        assert releases is not None
        releases.mkdir()
        (releases / "archive.ubuntu.com_ubuntu_dists_noble-security_InRelease").write_text(NOBLE_SECURITY_INRELEASE)

    monkeypatch.setattr(base_image, "build_root", build_root)
    monkeypatch.setattr(base_image, "installed_packages", lambda root: [("postfix", "amd64", "3.8.6-1ubuntu0.1")])
    monkeypatch.setattr(base_image, "make_disk", lambda root, raw, on_line=None, **ids: raw.write_bytes(b"raw"))
    monkeypatch.setattr(base_image, "to_qcow2", lambda raw, qcow2: qcow2.write_bytes(b"qcow2"))
    layer = BaseLayer(packages=("postfix",))
    qcow2 = base_image.base_image(layer)
    manifest = read_manifest(qcow2.parent)
    assert set(manifest) == {
        "cache_key",
        "os",
        "suite",
        "mirrors",
        "archive_key",
        "packages",
        "installed_versions",
        "pinned",
        "archive_releases",
        "build_tools",
        "disk",
        "build_seconds",
    }
    # What pinned the packages: each pocket's InRelease (suite, date, digest); what built the disk.
    [release] = manifest["archive_releases"]
    assert (release["suite"], release["date"]) == ("noble-security", "Sun, 06 Dec 2026 22:04:11 UTC")
    assert release["sha256"] == hashlib.sha256(NOBLE_SECURITY_INRELEASE.encode()).hexdigest()
    assert {"mmdebstrap", "e2fsprogs", "dosfstools", "grub-common"} <= set(manifest["build_tools"])
    # The disk's ids and times come from the inputs: the same tree gives the same disk.
    assert manifest["disk"] == {"seed": layer.cache_key(), "epoch": base_image.DEFAULT_EPOCH}
    assert (manifest["os"], manifest["suite"]) == ("ubuntu2404", "noble")
    assert manifest["archive_key"] == layer.release.key_fingerprint
    assert manifest["cache_key"] == layer.cache_key() and qcow2.parent.name == layer.cache_key()[:16]
    assert manifest["packages"] == ["postfix"] and manifest["installed_versions"] == {"postfix": "3.8.6-1ubuntu0.1"}
    assert manifest["pinned"] == [{"name": "postfix", "architecture": "amd64", "version": "3.8.6-1ubuntu0.1"}]
    assert (qcow2.parent / MANIFEST).read_text() == json.dumps(manifest, indent=2) + "\n"


def test_the_installed_packages_are_read_per_stanza_whatever_the_field_order(tmp_path: Path) -> None:
    from images.base_layer import apt_pins, installed_packages, pins

    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(
        "Package: postfix\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.8.6-1ubuntu0.1\n"
        "Description: a mail server\n with: a continuation line\n\n"
        "Version: 1:2.3.21+dfsg1-2ubuntu6.5\nArchitecture: amd64\nPackage: dovecot-core\nStatus: install ok installed\n\n"
        "Package: removed-one\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1.0\n\n"
        "Package: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 2024a-3ubuntu1.1\n"
    )
    # what apt installs exactly again
    assert apt_pins(pins(installed_packages(tmp_path))) == [
        "dovecot-core:amd64=1:2.3.21+dfsg1-2ubuntu6.5",
        "postfix:amd64=3.8.6-1ubuntu0.1",
        "tzdata=2024a-3ubuntu1.1",
    ]


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "postfix,openssh-server", "architecture": "amd64", "version": "1"},
        {"name": "postfix", "architecture": "amd64", "version": "1 --allow-unauthenticated"},
        {"name": "postfix", "architecture": "amd64\n", "version": "1"},
        {"name": "postfix", "version": "1"},
    ],
)
def test_a_manifest_pin_that_is_not_one_is_refused_naming_it(entry: dict[str, str]) -> None:
    from images.base_layer import apt_pins

    with pytest.raises(ValueError, match="not a package pin"):
        apt_pins([entry])

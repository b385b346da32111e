"""The bake's artifacts, its manifest, and the content-addressed cache."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest

from images import oses, pipeline
from images.manifest import MANIFEST
from images.pipeline import ARTIFACTS, build, cached, digest_of, sha256_file
from pyinfra_deploys import image_record
from tests.image.bake_job import GROUPS
from tests.image.conftest import TIMINGS, Baked


def test_the_artifacts_and_the_manifest_exist(baked: Baked) -> None:
    for name in (*ARTIFACTS, MANIFEST, "packages.txt", "image-phase.txt"):
        assert (baked.folder / name).is_file(), name
    assert baked.folder.parent == baked.output.resolve()
    assert baked.folder.name == baked.manifest["inputs_hash"][:16]
    assert not list(baked.output.glob(".*partial*")), "a temporary build folder was left behind"


def test_the_artifact_hashes_match_the_manifest(baked: Baked) -> None:
    for name in ARTIFACTS:
        assert (baked.folder / name).stat().st_size == baked.manifest["artifacts"][name]["size"], name
    # Each artifact hashed once more (GBs: the raw disk is 4 GiB) and compared with its recorded sha256;
    # test_a_damaged_or_unfinished_folder_is_not_trusted shows that a wrong one is refused.
    assert cached(baked.folder, verify=True) is not None


def test_the_manifest_names_every_input(baked: Baked) -> None:
    manifest = baked.manifest
    files = manifest["inputs"]["files"]
    for path in (
        "deploy.py",
        "images/generalize.sh",
        "images/packer/build.pkr.hcl",
        "inventory/bake.py",
        "files/etc/postfix/main.cf.j2",
    ):
        assert path in files, path
    assert any(path.startswith("pyinfra_deploys/") for path in files)
    groups = tuple(manifest["inputs"]["groups"])
    assert groups == GROUPS
    assert manifest["inputs_hash"] == digest_of(manifest["inputs"]["base_image_key"], manifest["os"], files, groups)
    assert manifest["inputs"]["base_image_key"] == manifest["base_image"]["key"]
    base = Path(manifest["base_image"]["path"])
    assert manifest["base_image"]["sha256"] == sha256_file(base)
    assert len(manifest["deploy"]["head"]) == 40 and isinstance(manifest["deploy"]["dirty"], bool)
    assert manifest["build_seconds"] > 0


def test_the_manifest_lists_the_installed_versions(baked: Baked) -> None:
    versions = baked.manifest["installed_versions"]
    for package in ("postfix", "dovecot-core", "rspamd", "ufw", "cloud-init", *oses.DEFAULT.kernel, "openssh-server"):
        assert versions.get(package), package
    base_versions = json.loads((Path(baked.manifest["base_image"]["path"]).parent / "manifest.json").read_text())[
        "installed_versions"
    ]
    assert versions["postfix"] == base_versions["postfix"]
    # Pinned: every installed package with its architecture, the same set as the versions.
    pinned = {(p["name"], p["version"]): p["architecture"] for p in baked.manifest["pinned"]}
    assert set(pinned) == set(versions.items())
    assert (
        pinned[("postfix", versions["postfix"])] == "amd64" and pinned[("ca-certificates", versions["ca-certificates"])] == "all"
    )


def test_the_manifest_records_the_digest_of_the_image_phase(baked: Baked) -> None:
    """Every file deploy.py's image phase placed in the build VM, its sha256, mode and owner, and their digest."""
    record = baked.manifest["image_phase"]
    text = (baked.folder / "image-phase.txt").read_text()
    assert record == image_record.parse_record(text)
    canonical = "".join(
        f"{f['sha256']} {f['mode']} {f['user']} {f['group']} {path}\n" for path, f in sorted(record["files"].items())
    )
    assert record["digest"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert len(record["files"]) == text.count("\nstat ") + text.startswith("stat ") > 20
    main_cf = record["files"]["/etc/postfix/main.cf"]
    assert (main_cf["mode"], main_cf["user"], main_cf["group"]) == ("644", "root", "root")
    assert len(main_cf["sha256"]) == 64 and int(main_cf["sha256"], 16) >= 0


def test_the_same_inputs_return_the_same_folder_without_a_rebuild(baked: Baked, monkeypatch: pytest.MonkeyPatch) -> None:
    before = {name: (baked.folder / name).stat().st_mtime_ns for name in (*ARTIFACTS, MANIFEST)}

    def no_packer(*args: object, **kwargs: object) -> None:
        raise AssertionError("packer was run for inputs that are already built")

    monkeypatch.setattr(pipeline, "run_packer", no_packer)
    began = time.monotonic()
    again = build(baked.output, groups=GROUPS)
    TIMINGS["cached_rebake_s"] = time.monotonic() - began
    assert again == baked.folder
    assert {name: (again / name).stat().st_mtime_ns for name in (*ARTIFACTS, MANIFEST)} == before
    assert json.loads((again / MANIFEST).read_text())["built_at"] == baked.manifest["built_at"]
    assert sorted(p.name for p in baked.output.iterdir() if not p.name.startswith(".")) == [baked.folder.name]


def test_a_damaged_or_unfinished_folder_is_not_trusted(baked: Baked, tmp_path: Path) -> None:
    copy = tmp_path / baked.folder.name
    copy.mkdir()
    shutil.copyfile(baked.folder / MANIFEST, copy / MANIFEST)
    assert cached(copy) is None  # the artifacts are missing
    manifest = json.loads((copy / MANIFEST).read_text())
    for name in ARTIFACTS:
        data = b"not an image"
        (copy / name).write_bytes(data)
        st = (copy / name).stat()
        manifest["artifacts"][name] = {
            "sha256": hashlib.sha256(b"other").hexdigest(),
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
        }
    (copy / MANIFEST).write_text(json.dumps(manifest))
    assert cached(copy) is not None  # size and mtime agree: the cheap check passes
    assert cached(copy, verify=True) is None  # the sha256 does not
    (copy / ARTIFACTS[0]).write_bytes(b"changed after the build")
    assert cached(copy) is None
    (copy / MANIFEST).unlink()
    assert cached(copy) is None

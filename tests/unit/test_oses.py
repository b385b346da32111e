"""The OS declarations: the archive key pinned and checked, the base built from the declaration, the kernel found by what the root holds."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from images import base_layer, oses
from images.base_layer import BaseLayer, KeyringError, check_keyring
from images.disk import boot_files, grub_cfg


def _throwaway_key(folder: Path) -> Path:
    """A new OpenPGP public key (ed25519, no passphrase) exported to a file."""
    home = folder / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "Not Ubuntu <x@example.test>", "ed25519", "sign", "1d"],
        env=env,
        check=True,
        capture_output=True,
    )
    out = folder / "other.gpg"
    try:
        out.write_bytes(subprocess.run(["gpg", "--batch", "--export"], env=env, check=True, capture_output=True).stdout)
    finally:  # key generation started an agent for this home: stop it
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, capture_output=True)
    return out


def test_every_declared_key_file_is_the_pinned_key() -> None:
    for release in oses.RELEASES.values():
        check_keyring(release)  # raises on any other content
        assert len(release.key_fingerprint) == 40 and release.key_fingerprint.isupper()


def test_another_key_is_refused(tmp_path: Path) -> None:
    other = dataclasses.replace(oses.DEFAULT, keyring=_throwaway_key(tmp_path))
    with pytest.raises(KeyringError, match=oses.DEFAULT.key_fingerprint):
        check_keyring(other)


def test_the_pinned_key_with_a_second_key_beside_it_is_refused(tmp_path: Path) -> None:
    both = tmp_path / "both.gpg"
    both.write_bytes(oses.DEFAULT.keyring.read_bytes() + _throwaway_key(tmp_path).read_bytes())
    with pytest.raises(KeyringError, match="expected exactly"):
        check_keyring(dataclasses.replace(oses.DEFAULT, keyring=both))


def test_a_missing_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyringError):
        check_keyring(dataclasses.replace(oses.DEFAULT, keyring=tmp_path / "absent.gpg"))


def test_the_base_is_built_from_the_declaration_and_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(base_layer, "run_streamed", lambda argv, on_line=None, env=None: seen.append([str(a) for a in argv]))
    release = oses.DEFAULT
    base_layer.build_root(BaseLayer.of(release), tmp_path / "root")
    (argv,) = seen
    assert f"--keyring={release.keyring}" in argv
    assert not any("trusted=yes" in arg or "allow-insecure" in arg.lower() for arg in argv)
    assert argv[-len(release.mirrors) :] == list(release.mirrors)
    assert release.suite in argv
    include = next(arg for arg in argv if arg.startswith("--include=")).removeprefix("--include=").split(",")
    assert set(release.kernel) <= set(include) and set(release.packages) <= set(include)
    assert any("linux-modules-extra-" in arg for arg in argv)


def test_a_refused_key_stops_the_build_before_mmdebstrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base_layer, "run_streamed", lambda argv, on_line=None, env=None: pytest.fail("mmdebstrap ran"))
    other = dataclasses.replace(oses.DEFAULT, keyring=_throwaway_key(tmp_path))
    with pytest.raises(KeyringError):
        base_layer.build_root(BaseLayer.of(other), tmp_path / "root")


def test_the_cache_key_follows_the_declaration() -> None:
    release = oses.DEFAULT
    key = BaseLayer.of(release).cache_key()
    assert BaseLayer.of(dataclasses.replace(release, kernel=(*release.kernel, "x"))).cache_key() != key
    assert BaseLayer.of(dataclasses.replace(release, mirrors=release.mirrors[:1])).cache_key() != key
    assert BaseLayer.of(release).cache_key() == key


def test_a_pinned_layer_installs_exactly_its_pins_has_its_own_key_and_names_a_version_that_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = oses.DEFAULT
    pins = ("postfix:amd64=3.8.6-1ubuntu0.1", "tzdata=2024a-3ubuntu1.1")
    pinned = BaseLayer.of(release, pinned=pins)
    assert pinned.cache_key() != BaseLayer.of(release).cache_key()
    seen: list[list[str]] = []
    monkeypatch.setattr(base_layer, "run_streamed", lambda argv, on_line=None, env=None: seen.append([str(a) for a in argv]))
    base_layer.build_root(pinned, tmp_path / "root")
    include = next(arg for arg in seen[0] if arg.startswith("--include=")).removeprefix("--include=").split(",")
    assert include == sorted(pins)

    def apt_says_gone(argv: list[str], on_line: object = None, env: object = None) -> None:
        raise base_layer.CommandFailed("mmdebstrap exited 1:\nE: Version '3.8.6-1ubuntu0.1' for 'postfix' was not found")

    monkeypatch.setattr(base_layer, "run_streamed", apt_says_gone)
    with pytest.raises(base_layer.PinnedVersionGone, match=r"no longer offers postfix 3\.8\.6-1ubuntu0\.1, as the manifest pins"):
        base_layer.build_root(pinned, tmp_path / "root2")
    with pytest.raises(base_layer.CommandFailed):  # unpinned: apt's own error stands
        base_layer.build_root(BaseLayer.of(release), tmp_path / "root3")


@pytest.mark.parametrize("folder", ["", "boot/"])
def test_the_kernel_links_are_found_where_the_packages_put_them(tmp_path: Path, folder: str) -> None:
    (tmp_path / "boot").mkdir()
    (tmp_path / "boot" / "vmlinuz-6.8.0-1-generic").write_bytes(b"k")
    (tmp_path / "boot" / "initrd.img-6.8.0-1-generic").write_bytes(b"i")
    (tmp_path / f"{folder}vmlinuz").symlink_to("vmlinuz-6.8.0-1-generic" if folder else "boot/vmlinuz-6.8.0-1-generic")
    (tmp_path / f"{folder}initrd.img").symlink_to("initrd.img-6.8.0-1-generic" if folder else "boot/initrd.img-6.8.0-1-generic")
    kernel, initrd = boot_files(tmp_path)
    assert (kernel, initrd) == (f"{folder}vmlinuz", f"{folder}initrd.img")
    assert f"linux ($root)/{kernel} root=LABEL=root" in grub_cfg(kernel, initrd)


def test_a_root_without_a_kernel_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="initramfs-tools"):
        boot_files(tmp_path)


def test_an_unknown_os_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="ubuntu2404"):
        oses.release("debian12")


def test_mmdebstrap_runs_with_the_fixed_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mmdebstrap is reproducible for the same SOURCE_DATE_EPOCH and mirror content (bench/base_twice.py)."""
    envs: list[dict[str, str]] = []
    monkeypatch.setattr(base_layer, "run_streamed", lambda argv, on_line=None, env=None: envs.append(env or {}))
    base_layer.build_root(BaseLayer.of(oses.DEFAULT), tmp_path / "root")
    assert envs[0]["SOURCE_DATE_EPOCH"] == str(base_layer.DEFAULT_EPOCH)

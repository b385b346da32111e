"""Bake the golden image once per session (Packer, the real deploy), then test it.

The bake runs with canary secrets where the settings point at the relay
password and a mailbox hash (FEBRUARY_SETTINGS_DIR), and with its throwaway
SSH key kept, so the scan can prove none of them reached the image.

Everything lives under .state/bake-test/ and is rebuilt each session;
FEBRUARY_IMAGE_REUSE=1 keeps it (with its canaries and build key) and lets
the content-addressed cache return the image when nothing changed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from february.paths import state_dir
from february.vm.secrets import hash_password
from images.manifest import MANIFEST
from images.pipeline import build

TIMINGS: dict[str, float] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/image/" in str(item.fspath):
            item.add_marker(pytest.mark.image)


@dataclass(frozen=True)
class Baked:
    """One baked image and what it was baked with."""

    root: Path  # .state/bake-test
    output: Path  # what build() was given
    folder: Path  # what build() returned: output/<inputs-hash16>
    manifest: dict[str, Any]
    build_key: Path  # the build's throwaway private key
    canaries: dict[str, str]  # name -> secret value placed where the settings point

    @property
    def qcow2(self) -> Path:
        return self.folder / "february.qcow2"

    @property
    def raw(self) -> Path:
        return self.folder / "february.raw"


def _write_secret(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(value + "\n")
    path.chmod(0o600)


def _canaries(settings_dir: Path) -> dict[str, str]:
    """Canary secrets at the paths group_data/all.py names (relative to FEBRUARY_SETTINGS_DIR)."""
    relay = settings_dir / "secrets" / "smarthost.password"
    mailbox = settings_dir / "secrets" / "alice@example.test.hash"
    if not relay.exists():
        _write_secret(relay, f"canary-relay-{secrets.token_hex(16)}")
    if not mailbox.exists():
        _write_secret(mailbox, hash_password(f"canary-mailbox-{secrets.token_hex(16)}"))
    return {"relay password": relay.read_text().strip(), "mailbox hash": mailbox.read_text().strip()}


@pytest.fixture(scope="session")
def baked() -> Baked:
    root = state_dir() / "bake-test"
    settings_dir = root / "settings"
    key_dir = root / "buildkey"
    reuse = os.environ.get("FEBRUARY_IMAGE_REUSE") == "1" and settings_dir.exists() and key_dir.exists()
    if not reuse:
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    canaries = _canaries(settings_dir)
    output = root / "images"
    previous = os.environ.get("FEBRUARY_SETTINGS_DIR")
    os.environ["FEBRUARY_SETTINGS_DIR"] = str(settings_dir)
    try:
        began = time.monotonic()
        folder = build(output, build_key_dir=key_dir)
        TIMINGS["bake_s"] = time.monotonic() - began
    finally:
        if previous is None:
            os.environ.pop("FEBRUARY_SETTINGS_DIR", None)
        else:
            os.environ["FEBRUARY_SETTINGS_DIR"] = previous
    manifest = json.loads((folder / MANIFEST).read_text())
    return Baked(
        root=root,
        output=output,
        folder=folder,
        manifest=manifest,
        build_key=key_dir / "build_ed25519",
        canaries=canaries,
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS:
        terminalreporter.write_line("Image timings: " + ", ".join(f"{k}={v:.1f}s" for k, v in TIMINGS.items()))

"""Bake the golden image once per session (Packer, the real deploy), then test it.

The bake runs with canary secrets where the settings point at the relay
password and a mailbox hash (FEBRUARY_SETTINGS_DIR), and with its throwaway
SSH key kept, so the scan can prove none of them reached the image.

The bake starts in a process of its own as soon as the session has collected
a test that needs it (BakeJob), so it overlaps the unit and VM tests; the
tests that use it run after the VM tests (tests/conftest.py's RUN_LAST).
Everything lives under .state/bake-test/ and is rebuilt each session;
FEBRUARY_IMAGE_REUSE=1 keeps it (with its canaries and build key) and lets
the content-addressed cache return the image when nothing changed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from february.paths import REPO, state_dir
from february.process import terminate_group
from february.site import hash_password, write_secret
from february.vm import qemu
from images.manifest import MANIFEST
from tests.image.owner_job import owner_config
from tests.vm.fixtures import SIDE_JOBS

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


def _canaries(settings_dir: Path) -> dict[str, str]:
    """Canary secrets at the paths group_data/all.py names (relative to FEBRUARY_SETTINGS_DIR)."""
    relay = settings_dir / "secrets" / "smarthost.password"
    mailbox = settings_dir / "secrets" / "alice@example.test.hash"
    if not relay.exists():
        write_secret(relay, f"canary-relay-{secrets.token_hex(16)}")
    if not mailbox.exists():
        write_secret(mailbox, hash_password(f"canary-mailbox-{secrets.token_hex(16)}"))
    return {"relay password": relay.read_text().strip(), "mailbox hash": mailbox.read_text().strip()}


class Job:
    """``python -m MODULE ARGS... RESULT`` in a process and session of its own, its output in LOG; on success it writes RESULT (JSON)."""

    def __init__(self, what: str, module: str, log: Path, result: Path) -> None:
        self.what, self.module, self.log, self.result = what, module, log, result
        self.process: subprocess.Popen[bytes] | None = None
        self.dead: str | None = None  # the console's last lines, when a guest of it panicked

    def launch(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.result.unlink(missing_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", self.module, *args, str(self.result)]
        with open(self.log, "wb") as log:
            # A session of its own: stop() ends it with every process it started (Packer, QEMU).
            self.process = subprocess.Popen(
                argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    def succeeded(self) -> bool:
        """It has ended, with exit status 0."""
        return self.process is not None and self.process.poll() == 0

    def consoles(self) -> list[Path]:
        """The serial consoles of the VMs it runs (a guest whose kernel panicked there fails it at once)."""
        return []

    def ended(self) -> int | None:
        """Wait until it has ended and return its exit status; None (and it is stopped) if one of its guests died."""
        assert self.process is not None
        while (status := self.process.poll()) is None:
            for console in self.consoles():
                self.dead = qemu.panic_lines(console)
                if self.dead is not None:
                    self.stop()
                    return None
            time.sleep(5)
        return status

    def wait(self) -> dict[str, Any]:
        """Its RESULT, once it has ended; an AssertionError with the end of its log if it failed."""
        assert self.process is not None, f"the {self.what} was never started"
        status = self.ended()
        if status is None or self.dead is not None:
            raise AssertionError(f"the {self.what}'s VM died (its kernel panicked), so it was stopped:\n{self.dead}")
        if status != 0 or not self.result.exists():
            tail = self.log.read_text(errors="replace")[-4000:]
            raise AssertionError(f"the {self.what} failed (exit status {status}; {self.log}):\n{tail}")
        done: dict[str, Any] = json.loads(self.result.read_text())
        return done

    def stop(self) -> None:
        """End it if it still runs (a session cut short), with every process it started."""
        if self.process is not None:
            self.process.poll()
            terminate_group(self.process, timeout=60)


class BakeJob(Job):
    """The session's bake (tests/image/bake_job.py), started early, awaited by `baked`."""

    def __init__(self) -> None:
        self.root = state_dir() / "bake-test"
        self.settings_dir = self.root / "settings"
        self.key_dir = self.root / "buildkey"
        self.output = self.root / "images"
        self.canaries: dict[str, str] = {}
        super().__init__("bake", "tests.image.bake_job", self.root / "bake.log", self.root / "bake.json")

    def start(self) -> None:
        if self.process is not None:
            return
        reuse = os.environ.get("FEBRUARY_IMAGE_REUSE") == "1" and self.settings_dir.exists() and self.key_dir.exists()
        if not reuse:
            shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)
        self.canaries = _canaries(self.settings_dir)
        self.launch([str(self.output), str(self.key_dir)], env={**os.environ, "FEBRUARY_SETTINGS_DIR": str(self.settings_dir)})

    def consoles(self) -> list[Path]:
        # The build VM's, while this bake's pipeline (the job's process) works in its partial folder.
        pid = self.process.pid if self.process is not None else 0
        return sorted(self.output.glob(f".*.partial-{pid}/console.log"))

    def folder(self) -> Path:
        self.start()
        began = time.monotonic()
        done = self.wait()
        TIMINGS["bake_waited_s"] = time.monotonic() - began
        TIMINGS["bake_s"] = done["seconds"]
        return Path(done["folder"])


class OwnerJob(Job):
    """The owner's new box up to its first converge (tests/image/owner_job.py), run while the VM tests run.

    A side job of the session's VM (tests/vm/fixtures.py): it starts once that VM
    is up (its converge left Rspamd's compiled databases on the host) and the bake
    is done, and tests that stop the outside world wait until it has ended.
    """

    def __init__(self) -> None:
        self.site = state_dir() / "owner-site"
        self.wanted = False  # the session collected a test of the owner's path
        super().__init__(
            "owner's new box", "tests.image.owner_job", state_dir() / "owner-job.log", state_dir() / "owner-job.json"
        )

    def start_when_ready(self) -> None:
        if self.wanted and self.process is None and BAKE.succeeded():
            self.start()

    def start(self) -> None:
        if self.process is not None:
            return
        shutil.rmtree(self.site, ignore_errors=True)
        self.site.mkdir(parents=True)
        owner_config().console_log.unlink(missing_ok=True)  # an earlier box's console says nothing of this one
        self.launch([str(self.site), str(BAKE.folder())])

    def consoles(self) -> list[Path]:
        return [owner_config().console_log]

    def settle(self) -> None:
        if self.process is not None:
            self.ended()  # a box that died is stopped; owner_box's wait says so

    def stop(self) -> None:
        super().stop()
        if self.process is not None:
            qemu.stop(owner_config())  # QEMU daemonizes out of the job's session


BAKE = BakeJob()
OWNER = OwnerJob()
SIDE_JOBS.append(OWNER)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the bake as soon as a collected test needs it: it runs while the unit and VM tests do."""
    if session.config.option.collectonly:
        return
    if any("baked" in getattr(item, "fixturenames", ()) for item in session.items):
        BAKE.start()
    OWNER.wanted = any("owner_box" in getattr(item, "fixturenames", ()) for item in session.items)


def pytest_unconfigure(config: pytest.Config) -> None:
    OWNER.stop()  # an interrupted session leaves no QEMU behind
    BAKE.stop()  # nor Packer


@pytest.fixture(scope="session")
def baked() -> Baked:
    folder = BAKE.folder()
    manifest = json.loads((folder / MANIFEST).read_text())
    return Baked(
        root=BAKE.root,
        output=BAKE.output,
        folder=folder,
        manifest=manifest,
        build_key=BAKE.key_dir / "build_ed25519",
        canaries=BAKE.canaries,
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS:
        terminalreporter.write_line("Image timings: " + ", ".join(f"{k}={v:.1f}s" for k, v in TIMINGS.items()))

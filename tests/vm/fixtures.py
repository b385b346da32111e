"""The session's February VM: booted and converged once, stopped at the end.

Loaded as a plugin by tests/conftest.py, so the image tests can compare a
rebuilt host with this first one.

FEBRUARY_VM_REUSE=1 uses a VM that `february vm` left running (and leaves it
running), for a quick edit-test loop.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from february.vm import lifecycle, qemu
from february.vm.config import DEFAULT
from february.vm.world_process import start_world, stop_world
from tests.vm.mailvm import MailVm

TIMINGS: dict[str, float] = {}


class SideJob(Protocol):
    """Work on another VM that runs in the background while the VM tests do, and shares the one outside world."""

    def start_when_ready(self) -> None:
        """Start, once what it needs is there (asked when the session's VM is up, and at each test's setup)."""

    def settle(self) -> None:
        """Return once it no longer runs (whether it succeeded is its own fixture's business)."""


# Registered by other test folders (tests/image/conftest.py: the owner's new box).
SIDE_JOBS: list[SideJob] = []
_STATE = {"vm_up": False, "world_held": False}


def _start_side_jobs() -> None:
    if _STATE["vm_up"] and not _STATE["world_held"]:
        for job in SIDE_JOBS:
            job.start_when_ready()


def pytest_runtest_setup(item: pytest.Item) -> None:
    _start_side_jobs()
    dead = qemu.panic_lines(DEFAULT.console_log) if _STATE["vm_up"] else None
    if dead is not None:
        # Every later VM test would wait out its timeouts on a guest that answers nothing.
        pytest.exit(f"the session VM's kernel panicked; the VM tests stop here:\n{dead}", returncode=1)


@pytest.fixture
def world_to_itself() -> Iterator[None]:
    """For a test that stops the outside world or breaks part of it: no side job runs meanwhile."""
    _STATE["world_held"] = True
    try:
        for job in SIDE_JOBS:
            job.settle()
        yield
    finally:
        _STATE["world_held"] = False


BACKUP_LABEL = "febbackup"
# The owner's hands, outside the deploy: the backup disk in fstab, mounted.
MOUNT_BACKUP_DISK = (
    "mkdir -p /srv/backup && "
    f"{{ grep -q '^LABEL={BACKUP_LABEL} ' /etc/fstab || echo 'LABEL={BACKUP_LABEL} /srv/backup ext4 defaults,nofail 0 2' >> /etc/fstab; }} && "
    "{ mountpoint -q /srv/backup || mount /srv/backup; }"
)


def make_backup_disk(path: Path) -> Path:
    """An empty ext4 disk image labelled BACKUP_LABEL: the owner's USB disk."""
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", BACKUP_LABEL, str(path), "1G"], check=True)
    return path


@pytest.fixture(scope="session")
def backup_disk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The backup disk of the session's servers: the VM's, then the rebuilt host's (tests/image/test_owner_path.py)."""
    return make_backup_disk(tmp_path_factory.mktemp("backup-disk") / "backup.img")


@pytest.fixture(scope="session")
def mailvm(backup_disk: Path) -> Iterator[MailVm]:
    started_at = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S UTC")
    reuse = os.environ.get("FEBRUARY_VM_REUSE") == "1" and qemu.running_pid(DEFAULT) is not None
    if reuse:
        start_world(DEFAULT)
        lifecycle.converge()
    else:
        qemu.stop(DEFAULT)
        stop_world(DEFAULT)
        TIMINGS["boot_to_ssh_s"] = lifecycle.boot(DEFAULT, extra_disks=(backup_disk,))
        MailVm(config=DEFAULT, started_at=started_at).run(MOUNT_BACKUP_DISK)
        began = time.monotonic()
        lifecycle.cold_converge()
        TIMINGS["cold_converge_s"] = time.monotonic() - began
        lifecycle.publish_dns(DEFAULT)
    _STATE["vm_up"] = True
    _start_side_jobs()
    try:
        yield MailVm(config=DEFAULT, started_at=started_at)
    finally:
        if not reuse:
            qemu.stop(DEFAULT)
            stop_world(DEFAULT)

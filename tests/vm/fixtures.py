"""The session's February VM: booted and converged once, stopped at the end.

Loaded as a plugin by tests/conftest.py, so the image tests can compare a
rebuilt host with this first one.

FEBRUARY_VM_REUSE=1 uses a VM that `february vm` left running (and leaves it
running), for a quick edit-test loop.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Iterator

import pytest

from february.vm import lifecycle, qemu
from february.vm.config import DEFAULT
from february.vm.world_process import start_world, stop_world
from tests.vm.mailvm import MailVm

TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="session")
def mailvm() -> Iterator[MailVm]:
    started_at = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S UTC")
    reuse = os.environ.get("FEBRUARY_VM_REUSE") == "1" and qemu.running_pid(DEFAULT) is not None
    if reuse:
        start_world(DEFAULT)
        lifecycle.converge()
    else:
        qemu.stop(DEFAULT)
        stop_world(DEFAULT)
        TIMINGS["boot_to_ssh_s"] = lifecycle.boot(DEFAULT)
        began = time.monotonic()
        lifecycle.cold_converge()
        TIMINGS["cold_converge_s"] = time.monotonic() - began
        lifecycle.publish_dns(DEFAULT)
    try:
        yield MailVm(config=DEFAULT, started_at=started_at)
    finally:
        if not reuse:
            qemu.stop(DEFAULT)
            stop_world(DEFAULT)

"""A guest whose kernel panicked is known at once: from its serial console, not from timeouts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from february.vm.qemu import KERNEL_PANIC, panic_lines
from tests.image.conftest import Job

# The end of rehearsal r14's session VM console (QEMU TCG, Ubuntu 24.04's 6.8 kernel).
PANICKED = """mail login: [ 1748.286624] traps: PANIC: double fault, error_code: 0x0
[ 1748.299123] double fault: 0000 [#1] PREEMPT SMP NOPTI
[ 1748.299123] RIP: 0010:kmem_cache_alloc_lru+0xfa/0x340
[ 1749.588119] Kernel panic - not syncing: Fatal exception in interrupt
[ 1749.588119] ---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---
"""


def test_a_panicked_console_is_quoted_up_to_its_panic_and_a_live_one_is_none(tmp_path: Path) -> None:
    console = tmp_path / "console.log"
    assert panic_lines(console) is None  # not written yet
    console.write_text("Ubuntu 24.04.5 LTS mail.example.test ttyS0\n\nmail login: ")
    assert panic_lines(console) is None
    console.write_text(PANICKED)
    said = panic_lines(console)
    assert said is not None and "double fault" in said and said.endswith(f"{KERNEL_PANIC}: Fatal exception in interrupt ]---")


class Sleeper(Job):
    """A job whose process outlives the test unless stopped, and whose one guest's console is given."""

    def __init__(self, folder: Path) -> None:
        super().__init__("test job", "unused", folder / "job.log", folder / "job.json")
        self.console = folder / "console.log"
        self.process = subprocess.Popen(["sleep", "600"], start_new_session=True)

    def consoles(self) -> list[Path]:
        return [self.console]


def test_a_job_whose_guest_panicked_is_stopped_and_fails_naming_the_panic(tmp_path: Path) -> None:
    job = Sleeper(tmp_path)
    job.console.write_text(PANICKED)
    with pytest.raises(AssertionError, match="kernel panicked") as failed:
        job.wait()
    assert "double fault" in str(failed.value)
    assert job.process is not None and job.process.poll() is not None  # stopped, not left behind

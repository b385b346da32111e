"""qemu.power_cycle when a box hangs: a guest that never powers off has its power cut, one that boots without SSH is started once more.

QEMU is a stand-in process that writes its pid file (as ``-pidfile`` does);
the guest's answers (to ``systemctl poweroff`` and to SSH) are scripted.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from february.process import gone, pid_of
from february.vm import qemu
from february.vm.config import VmConfig

# Daemonized as QEMU's -daemonize is: no child of the tests, so an ended one is reaped at once.
FAKE_QEMU = "import os, sys, time\nif os.fork() == 0:\n    open(sys.argv[1], 'w').write(str(os.getpid()))\n    time.sleep(600)"


class Box:
    """A stand-in VM: ``launch`` starts a fake QEMU; the guest powers off when asked unless ``hangs_at_shutdown``."""

    def __init__(self, config: VmConfig, hangs_at_shutdown: bool, boots_without_ssh: int) -> None:
        self.config, self.hangs_at_shutdown, self.boots_without_ssh = config, hangs_at_shutdown, boots_without_ssh
        self.pids: list[int] = []
        self.boots = 0

    def launch(self, argv: list[str]) -> None:
        self.config.pidfile.unlink(missing_ok=True)
        subprocess.check_call([sys.executable, "-c", FAKE_QEMU, str(self.config.pidfile)])
        while (pid := pid_of(self.config.pidfile)) is None:
            time.sleep(0.01)
        self.pids.append(pid)
        self.boots += 1

    def guest(self, argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        if argv[-1].endswith("systemctl poweroff") and not self.hangs_at_shutdown:
            os.kill(self.pids[-1], signal.SIGTERM)
        return subprocess.CompletedProcess(argv, 0, "", "")

    def wait_for_ssh(self, config: VmConfig, timeout: float) -> float:
        if self.boots <= self.boots_without_ssh:
            raise qemu.VmError(f"no SSH after {timeout:.0f}s")
        return 1.0

    def end(self) -> None:
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def box(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Box:
    monkeypatch.setenv("FEBRUARY_STATE", str(tmp_path))
    config = VmConfig(name="box")
    config.dir.mkdir()
    (config.dir / "qemu.argv.json").write_text(json.dumps(["qemu-system-x86_64"]))
    config.console_log.write_text("[ OK ] Stopped target Network.\nA stop job is running for the test (5min / 5min)\n")
    hangs, without_ssh = request.param
    made = Box(config, hangs, without_ssh)
    made.launch([])
    made.boots = 0
    monkeypatch.setattr(qemu, "_launch", made.launch)
    monkeypatch.setattr(qemu.subprocess, "run", made.guest)
    monkeypatch.setattr(qemu, "wait_for_ssh", made.wait_for_ssh)
    monkeypatch.setattr(qemu, "wait_for_cloud_init", lambda config: None)
    request.addfinalizer(made.end)
    return made


@pytest.mark.parametrize("box", [(False, 0)], indirect=True)
def test_a_box_that_powers_off_and_boots_is_cycled_once_and_quietly(box: Box, recwarn: pytest.WarningsRecorder) -> None:
    qemu.power_cycle(box.config, timeout=2)
    assert gone(box.pids[0], 1) and box.boots == 1
    assert pid_of(box.config.pidfile) == box.pids[-1]
    assert not recwarn.list


@pytest.mark.parametrize("box", [(True, 0)], indirect=True)
def test_a_guest_that_never_powers_off_has_its_power_cut_and_the_console_is_quoted(box: Box) -> None:
    with pytest.warns(RuntimeWarning, match=r"did not power off within 1s: power cut;(.|\n)*A stop job is running"):
        qemu.power_cycle(box.config, timeout=1)
    assert gone(box.pids[0], 1)  # cut: QEMU ended from outside
    assert box.boots == 1 and pid_of(box.config.pidfile) == box.pids[-1]


@pytest.mark.parametrize("box", [(False, 1)], indirect=True)
def test_a_boot_without_ssh_is_started_once_more(box: Box) -> None:
    with pytest.warns(RuntimeWarning, match="powered on again: no SSH"):
        qemu.power_cycle(box.config, timeout=1)
    assert box.boots == 2
    assert gone(box.pids[1], 1)  # the hung one was stopped before the second start
    assert pid_of(box.config.pidfile) == box.pids[2]


@pytest.mark.parametrize("box", [(False, 2)], indirect=True)
def test_a_second_boot_without_ssh_is_an_error(box: Box) -> None:
    with pytest.warns(RuntimeWarning, match="powered on again"), pytest.raises(qemu.VmError, match="no SSH"):
        qemu.power_cycle(box.config, timeout=1)
    assert box.boots == 2

"""Packer's machine-readable output, and a failed bake that must not look finished."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from february.paths import REPO
from images import pipeline
from images.packer_stream import PackerFailed, PackerResult, events_from, parse_line

SAMPLE = """\
1795623373,,ui,say,==> qemu.february: Running local shell script: /tmp/packer-shell1
1795623373,,ui,message,    qemu.february: Place /etc/postfix/main.cf%!(PACKER_COMMA) mode 644
1795623374,,ui,say,\\n==> Builds finished. The artifacts of successful builds are:
1795623374,qemu.february,artifact-count,1
1795623374,qemu.february,artifact,0,builder-id,transcend.qemu
1795623374,qemu.february,artifact,0,files,1,/out/february.qcow2
1795623374,qemu.february,artifact,0,end
panic: not a machine-readable line
"""


def test_lines_are_split_and_unescaped() -> None:
    event = parse_line("1795623373,,ui,message,    qemu.february: a%!(PACKER_COMMA) b\\nc")
    assert event is not None
    assert (event.timestamp, event.target, event.type) == (1795623373, "", "ui")
    assert event.ui_text == "    qemu.february: a, b\nc"
    assert parse_line("panic: runtime error") is None


def test_a_run_collects_ui_text_artifacts_and_stray_lines() -> None:
    result = PackerResult()
    seen: list[str] = []
    events_from(SAMPLE.splitlines(keepends=True), result, on_event=lambda e: seen.append(e.type))
    assert seen.count("ui") == 3
    assert result.artifacts["qemu.february"]["0"]["builder-id"] == "transcend.qemu"
    assert result.artifacts["qemu.february"]["0"]["files"] == "1,/out/february.qcow2"
    assert "    qemu.february: Place /etc/postfix/main.cf, mode 644" in result.ui_lines()
    assert result.other_lines == ["panic: not a machine-readable line"]


def test_a_failed_bake_leaves_no_folder_that_looks_finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "packer"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = version ]; then echo "Packer v0"; exit 0; fi\n'
        "echo '1,,ui,say,==> qemu.february: Waiting for SSH to become available...'\n"
        "echo '2,,ui,error,Build %!(PACKER_COMMA)qemu.february%!(PACKER_COMMA) errored: Timeout waiting for SSH.'\n"
        "echo '2,,error-count,1'\n"
        "exit 1\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(pipeline, "PACKER", str(fake))
    monkeypatch.setenv("FEBRUARY_ACCEL", "tcg")
    output = tmp_path / "images"
    with pytest.raises(PackerFailed, match="Timeout waiting for SSH"):
        pipeline.build(output)
    visible = [path.name for path in output.iterdir() if not path.name.startswith(".")]
    assert visible == []
    assert not [path for path in output.iterdir() if "partial" in path.name or path.name.startswith(".bake-")]
    (failed,) = (output / ".failed").iterdir()
    assert "Timeout waiting for SSH" in (failed / "build.log").read_text()


def test_a_terminated_bake_stops_packer_and_leaves_nothing_finished(tmp_path: Path) -> None:
    marker = tmp_path / "packer-was-stopped"
    fake = tmp_path / "packer"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = version ]; then echo "Packer v0"; exit 0; fi\n'
        f"trap 'touch {marker}; exit 1' TERM\n"
        "echo '1,,ui,say,==> qemu.february: Waiting for SSH to become available...'\n"
        "while :; do sleep 0.1; done\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    output = tmp_path / "images"
    script = f"from pathlib import Path\nfrom images import pipeline\npipeline.PACKER = {str(fake)!r}\npipeline.build(Path({str(output)!r}))\n"
    env = {**os.environ, "FEBRUARY_ACCEL": "tcg"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not any("Waiting for SSH" in log.read_text() for log in output.glob(".*partial*/build.log")):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the fake packer never started"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert marker.exists(), "packer was not told to stop"
    assert sorted(path.name for path in output.iterdir()) == [".failed"]

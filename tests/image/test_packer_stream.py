"""Packer's machine-readable output, and a failed bake that must not look finished."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from images import pipeline
from images.packer_stream import PackerFailed, PackerResult, events_from, parse_line

SAMPLE = """\
1795623373,,ui,say,==> qemu.debian12: Running local shell script: /tmp/packer-shell1
1795623373,,ui,message,    qemu.debian12: Place /etc/postfix/main.cf%!(PACKER_COMMA) mode 644
1795623374,,ui,say,\\n==> Builds finished. The artifacts of successful builds are:
1795623374,qemu.debian12,artifact-count,1
1795623374,qemu.debian12,artifact,0,builder-id,transcend.qemu
1795623374,qemu.debian12,artifact,0,files,1,/out/february.qcow2
1795623374,qemu.debian12,artifact,0,end
panic: not a machine-readable line
"""


def test_lines_are_split_and_unescaped() -> None:
    event = parse_line("1795623373,,ui,message,    qemu.debian12: a%!(PACKER_COMMA) b\\nc")
    assert event is not None
    assert (event.timestamp, event.target, event.type) == (1795623373, "", "ui")
    assert event.ui_text == "    qemu.debian12: a, b\nc"
    assert parse_line("panic: runtime error") is None


def test_a_run_collects_ui_text_artifacts_and_stray_lines() -> None:
    result = PackerResult()
    seen: list[str] = []
    events_from(SAMPLE.splitlines(keepends=True), result, on_event=lambda e: seen.append(e.type))
    assert seen.count("ui") == 3
    assert result.artifacts["qemu.debian12"]["0"]["builder-id"] == "transcend.qemu"
    assert result.artifacts["qemu.debian12"]["0"]["files"] == "1,/out/february.qcow2"
    assert "    qemu.debian12: Place /etc/postfix/main.cf, mode 644" in result.ui_lines()
    assert result.other_lines == ["panic: not a machine-readable line"]


def test_a_failed_bake_leaves_no_folder_that_looks_finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "packer"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = version ]; then echo "Packer v0"; exit 0; fi\n'
        "echo '1,,ui,say,==> qemu.debian12: Waiting for SSH to become available...'\n"
        "echo '2,,ui,error,Build %!(PACKER_COMMA)qemu.debian12%!(PACKER_COMMA) errored: Timeout waiting for SSH.'\n"
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

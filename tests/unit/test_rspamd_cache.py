"""The lab's cache of Rspamd's compiled databases: only names not kept yet are copied out of a VM."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from february.vm import rspamd_cache

KEPT = "a" * 64 + ".hs"
NEW = "b" * 64 + ".hsmp"


def test_pull_copies_only_new_names_and_ignores_odd_ones(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / KEPT).write_bytes(b"kept")
    monkeypatch.setattr(rspamd_cache, "cache_dir", lambda: tmp_path)
    asked: list[str] = []

    def remote(host: Any, command: str, stdin: bytes | None = None) -> bytes:
        asked.append(command)
        if "find" in command:
            return f"{KEPT}\n{NEW}\nnot-a-database.hs\n".encode()
        packed = io.BytesIO()
        with tarfile.open(fileobj=packed, mode="w") as tar:
            info = tarfile.TarInfo(NEW)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"new"))
        return packed.getvalue()

    monkeypatch.setattr(rspamd_cache, "_remote", remote)
    assert rspamd_cache.pull(None) == 2  # type: ignore[arg-type]
    assert asked[1].endswith(f"tar cf - {NEW}")  # the kept one and the odd name stay on the VM
    assert (tmp_path / NEW).read_bytes() == b"new" and (tmp_path / KEPT).read_bytes() == b"kept"
    asked.clear()
    assert rspamd_cache.pull(None) == 2  # type: ignore[arg-type]
    assert len(asked) == 1  # nothing new: only the listing


def test_a_cache_with_databases_starts_no_native_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / KEPT).write_bytes(b"kept")
    monkeypatch.setattr(rspamd_cache, "cache_dir", lambda: tmp_path)
    assert rspamd_cache.start_native(tmp_path / "native.log") is None
    assert rspamd_cache.compile_natively() == 0
    assert rspamd_cache.finish_native(None, tmp_path / "native.log") == "the cache holds databases already"


def test_the_chroot_gets_the_loader_link_the_folders_and_no_reachable_resolver(tmp_path: Path) -> None:
    (tmp_path / "usr" / "lib64").mkdir(parents=True)
    (tmp_path / "etc" / "rspamd" / "local.d").mkdir(parents=True)
    rspamd_cache._prepare_chroot(tmp_path)
    assert (tmp_path / "lib64").is_symlink() and (tmp_path / "lib64").readlink() == Path("usr/lib64")
    assert (tmp_path / "var" / "lib" / "rspamd").is_dir() and (tmp_path / "run" / "rspamd").is_dir()
    assert (tmp_path / "etc" / "resolv.conf").read_text() == "nameserver 127.0.0.1\n"
    assert 'type = "console";' in (tmp_path / "etc" / "rspamd" / "local.d" / "logging.inc").read_text()
    rspamd_cache._prepare_chroot(tmp_path)  # a second time: the link stays as it is
    assert (tmp_path / "lib64").readlink() == Path("usr/lib64")


def test_the_wait_ends_on_the_line_and_fails_with_the_logs_end(tmp_path: Path) -> None:
    log = tmp_path / "rspamd.log"
    with open(log, "wb") as out:
        ready = subprocess.Popen(
            ["sh", "-c", "echo compiling; sleep 1; echo 'main; received hyperscan cache loaded'; sleep 30"], stdout=out
        )
    try:
        rspamd_cache._wait_for_line(ready, log, rspamd_cache.NATIVE_READY, 20)
        assert ready.poll() is None  # it returned on the line, not when the process ended
    finally:
        ready.kill()
        ready.wait()
    with open(log, "wb") as out:
        failed = subprocess.Popen(["sh", "-c", "echo 'cannot parse bind line'; exit 1"], stdout=out)
    with pytest.raises(RuntimeError, match=r"exit status 1(.|\n)*cannot parse bind line"):
        rspamd_cache._wait_for_line(failed, log, rspamd_cache.NATIVE_READY, 20)
    with open(log, "wb") as out:
        slow = subprocess.Popen(["sleep", "30"], stdout=out)
    try:
        with pytest.raises(RuntimeError, match="took over 1 s"):
            rspamd_cache._wait_for_line(slow, log, rspamd_cache.NATIVE_READY, 1)
    finally:
        slow.kill()
        slow.wait()


def test_a_failed_native_run_is_reported_and_is_no_error(tmp_path: Path) -> None:
    log = tmp_path / "native.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(["sh", "-c", "echo 'E: mmdebstrap failed'; exit 3"], stdout=out)
    said = rspamd_cache.finish_native(process, log)
    assert said.startswith("failed (exit status 3;") and said.endswith("the VM compiles its own: E: mmdebstrap failed")

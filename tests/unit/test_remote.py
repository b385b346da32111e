"""february.remote's ssh: one shared connection per host, as OpenSSH reads the options (`ssh -G`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from february.remote import FRESH, multiplexed
from february.vm import qemu
from february.vm.config import DEFAULT


def effective(argv: list[str]) -> dict[str, str]:
    """What ssh would use for ``argv`` (its options and destination), without connecting."""
    done = subprocess.run(["ssh", "-G", *argv[1:]], capture_output=True, text=True, check=True)
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


def test_commands_to_a_host_share_one_master_connection_that_outlives_them(tmp_path: Path) -> None:
    options = effective(["ssh", *multiplexed(tmp_path / "sockets" / "%C"), "admin@192.0.2.1"])
    assert options["controlmaster"] == "auto"
    assert options["controlpersist"] == "300"  # a deploy's own session outlives its converge
    assert Path(options["controlpath"]).parent == tmp_path / "sockets"
    assert (tmp_path / "sockets").stat().st_mode & 0o777 == 0o700
    # a master whose host went away ends within 15 s instead of holding the next command
    assert (options["serveraliveinterval"], options["serveralivecountmax"]) == ("5", "3")


def test_the_lab_vm_s_ssh_shares_a_connection_kept_in_its_own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEBRUARY_STATE", str(tmp_path))
    options = effective(qemu.ssh_argv(DEFAULT))
    assert options["controlmaster"] == "auto"
    assert Path(options["controlpath"]).parent == DEFAULT.dir


def test_a_fresh_connection_shares_nothing() -> None:
    """What confirms a switch: a new TCP connection and handshake, not the master UFW's conntrack keeps alive."""
    options = effective(["ssh", *FRESH, "admin@192.0.2.1"])
    assert options["controlmaster"] == "false" and "controlpath" not in options  # ssh -G omits a path of none

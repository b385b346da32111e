"""Start and stop the fake outside world (smarthost + DNS) for a VM, in the background."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from february.paths import world_dir
from february.process import pid_of, terminate
from february.vm.config import OUTSIDE_ADDRESS, RELAY_NAME, VmConfig
from february.world.certs import ca_signed, make_ca

SMARTHOST_USER = "february-vm@relay.example.net"

# The outside as the VM sees it: foreign domains exist (so Postfix's
# reject_unknown_sender_domain accepts them), nothing in them is reachable.
BASE_ZONE = """\
example.net. 300 IN MX 10 mx.example.net.
mx.example.net. 300 IN A 192.0.2.10
example.org. 300 IN MX 10 mx.example.org.
mx.example.org. 300 IN A 192.0.2.20
relay.example.net. 300 IN A 10.0.2.100
"""


def spool(config: VmConfig | None = None) -> Path:
    """Where the fake smarthost writes what it received (read with february.world.read_spool).

    One world serves every VM, so ``config`` changes nothing; it is accepted
    only because the VM tests (tests/vm/mailvm.py) still pass one.
    """
    return world_dir() / "spool"


def zone_file() -> Path:
    return world_dir() / "zone.txt"


def ensure_world_certs(config: VmConfig) -> tuple[Path, Path]:
    """The test CA (config.world_ca, which the VM trusts for its relay) and the
    smarthost's certificate from it, for RELAY_NAME and OUTSIDE_ADDRESS; made
    when missing or unusable. Returns (certificate, key)."""
    folder = world_dir()
    make_ca(config.world_ca, folder / "ca.key")
    cert, key = folder / "relay.pem", folder / "relay.key"
    ca_signed(cert, key, config.world_ca, folder / "ca.key", [RELAY_NAME, OUTSIDE_ADDRESS])
    return cert, key


def _pid() -> int | None:
    return pid_of(world_dir() / "pid")


def write_zone(extra_records: str = "") -> None:
    """(Re)write the zone; a running world reloads it on SIGHUP."""
    path = zone_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(BASE_ZONE + extra_records)
    tmp.rename(path)
    pid = _pid()
    if pid is not None:
        os.kill(pid, signal.SIGHUP)


def start_world(config: VmConfig, timeout: float = 20.0) -> int:
    """Start the world unless it runs; return its pid."""
    pid = _pid()
    if pid is not None:
        return pid
    folder = world_dir()
    folder.mkdir(parents=True, exist_ok=True)
    # A zone left by an older run may lack a name of BASE_ZONE (the relay's).
    if not zone_file().exists() or not zone_file().read_text().startswith(BASE_ZONE):
        write_zone()
    cert, key = ensure_world_certs(config)
    pidfile = folder / "pid"
    pidfile.unlink(missing_ok=True)
    # The world keeps its own copy of the log's descriptor; ours is closed once it started.
    with open(folder / "log", "ab") as log:
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "february.world",
                "--spool",
                str(spool()),
                "--smarthost-port",
                str(config.smarthost_port),
                "--dns-port",
                str(config.dns_port),
                "--username",
                SMARTHOST_USER,
                "--password-file",
                str(config.secrets / "smarthost.password"),
                "--cert",
                str(cert),
                "--key",
                str(key),
                "--common-name",
                RELAY_NAME,
                "--zone-file",
                str(zone_file()),
                "--pidfile",
                str(pidfile),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = _pid()
        if pid is not None:
            return pid
        time.sleep(0.1)
    raise RuntimeError(f"the fake smarthost/DNS did not start; see {folder / 'log'}")


def stop_world(config: VmConfig | None = None) -> bool:
    """Stop the world if it runs; ``config`` changes nothing (one world for all VMs; tests/vm still pass one)."""
    pid = _pid()
    if pid is None:
        return False
    terminate(pid, timeout=10.0)
    return True

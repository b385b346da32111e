"""Start and stop the fake outside world (smarthost, DNS, ACME server) for a VM, in the background."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from february.paths import world_dir
from february.preflight import require_tools
from february.process import pid_of, terminate
from february.vm.config import OUTSIDE_ADDRESS, RELAY_NAME, VmConfig
from february.world.acme import PEBBLE
from february.world.certs import ca_signed, make_ca

SMARTHOST_USER = "february-vm@relay.example.net"

# The outside as the VM sees it: foreign domains exist (so Postfix's
# reject_unknown_sender_domain accepts them), nothing in them is reachable.
# The site's zone has its apex here from the start (a DNS-01 client asks for
# its SOA during the first converge); publish_dns adds the host's records.
BASE_ZONE = """\
example.net. 300 IN MX 10 mx.example.net.
mx.example.net. 300 IN A 192.0.2.10
example.org. 300 IN MX 10 mx.example.org.
mx.example.org. 300 IN A 192.0.2.20
relay.example.net. 300 IN A 10.0.2.100
example.test. 300 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60
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
    # pebble's HTTPS: the VM reaches it at the outside address, the tests at the loopback.
    ca_signed(folder / "acme.pem", folder / "acme.key", config.world_ca, folder / "ca.key", [OUTSIDE_ADDRESS, "127.0.0.1"])
    return cert, key


def refuse_updates_flag() -> Path:
    """While this file exists the fake DNS refuses dynamic updates: a DNS provider that broke."""
    return world_dir() / "refuse-dns-updates"


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
    require_tools("nc", PEBBLE)
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
                "--tsig-secret-file",
                str(config.acme_tsig_secret),
                "--refuse-updates",
                str(refuse_updates_flag()),
                "--acme-port",
                str(config.acme_port),
                "--acme-management-port",
                str(config.acme_management_port),
                "--acme-cert",
                str(folder / "acme.pem"),
                "--acme-key",
                str(folder / "acme.key"),
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
    raise RuntimeError(f"the fake smarthost/DNS/ACME server did not start; see {folder / 'log'}")


def stop_world(config: VmConfig | None = None) -> bool:
    """Stop the world if it runs; ``config`` changes nothing (one world for all VMs; tests/vm still pass one)."""
    pid = _pid()
    if pid is None:
        return False
    terminate(pid, timeout=10.0)
    return True

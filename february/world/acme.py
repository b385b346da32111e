"""The world's ACME server: Let's Encrypt's test server ``pebble`` (Debian's package), on the host's loopback.

It is the real protocol, not a mock: the VM's ACME client (certbot) registers,
orders, answers a DNS-01 challenge through the fake DNS's dynamic updates,
and pebble checks that answer by asking the fake DNS (``-dnsserver``) before
it signs. Its HTTPS listener uses a certificate from the world's test CA
(which the VM is told to trust for its ACME server); its issuing root is new
at each start and is read from the management listener (:func:`roots`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import IO

from february.process import terminate_group

PEBBLE = "pebble"
CERTIFICATE_DAYS = 90
# pebble's test knobs: validations without its random sleep, no nonce refused on purpose, and no
# authorization reused (each order proves its challenge again, so a broken DNS fails the renewal).
PEBBLE_ENV = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}


class PebbleMissing(RuntimeError):
    """pebble is not installed (``./bootstrap`` installs it)."""


def config_text(port: int, management_port: int, cert: Path, key: Path) -> str:
    """pebble's configuration: both listeners on the loopback, its HTTPS certificate ours."""
    return json.dumps(
        {
            "pebble": {
                "listenAddress": f"127.0.0.1:{port}",
                "managementListenAddress": f"127.0.0.1:{management_port}",
                "certificate": str(cert),
                "privateKey": str(key),
                # Only DNS-01 is answered here; these ports are where pebble would look for the others.
                "httpPort": 5002,
                "tlsPort": 5001,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
                # Let's Encrypt's 90 days (pebble's default is 5 years, which Mozilla's profile check refuses).
                "certificateValidityPeriod": CERTIFICATE_DAYS * 86400,
            }
        },
        indent=2,
    )


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Pebble:
    """pebble as a child process; start() returns once it accepts connections."""

    def __init__(self, folder: Path, port: int, management_port: int, dns_port: int, cert: Path, key: Path) -> None:
        self.folder, self.port, self.management_port, self.dns_port = folder, port, management_port, dns_port
        self.cert, self.key = cert, key
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, log: IO[bytes] | None = None, timeout: float = 20.0) -> None:
        binary = shutil.which(PEBBLE)
        if binary is None:
            raise PebbleMissing("pebble is not installed: apt install pebble (./bootstrap installs it)")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "pebble.json"
        config.write_text(config_text(self.port, self.management_port, self.cert, self.key))
        self._process = subprocess.Popen(
            [binary, "-config", str(config), "-dnsserver", f"127.0.0.1:{self.dns_port}"],
            env={**os.environ, **PEBBLE_ENV},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"pebble exited with status {self._process.returncode} while starting")
            if _listening(self.port) and _listening(self.management_port):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pebble did not listen on 127.0.0.1:{self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            terminate_group(process, timeout=5.0)


def roots(management_port: int, world_ca: Path) -> str:
    """PEM of pebble's current issuing root (new at each start), from its management listener."""
    context = ssl.create_default_context(cafile=str(world_ca))
    with urllib.request.urlopen(f"https://127.0.0.1:{management_port}/roots/0", context=context, timeout=10) as answer:
        text: str = answer.read().decode()
    return text

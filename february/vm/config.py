"""The local VM's fixed shape: ports, sizes and the addresses the guest sees.

``inventory/vm.py`` and the tests read the forwarded ports from here, so they
are declared once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from february.paths import state_dir, world_dir

# Inside QEMU user networking the guest reaches forwarded host services at
# this address; nothing else outside the guest is reachable (restrict=on).
GUEST_GATEWAY_NET = "10.0.2.0/24"
OUTSIDE_ADDRESS = "10.0.2.100"
# The fake smarthost's name: the fake DNS resolves it to OUTSIDE_ADDRESS and
# its certificate (from the test CA) names it, so Postfix verifies the relay
# as it verifies a real provider (smtp_tls_security_level = secure).
RELAY_NAME = "relay.example.net"
SMARTHOST_GUEST_PORT = 2525
DNS_GUEST_PORT = 53
# The world's ACME server (pebble), as the guest reaches it.
ACME_GUEST_PORT = 14000
ACME_DIRECTORY = f"https://{OUTSIDE_ADDRESS}:{ACME_GUEST_PORT}/dir"


@dataclass(frozen=True)
class VmConfig:
    """One local VM: its state folder and the loopback ports forwarded to it."""

    name: str = "vm"
    memory_mib: int = 2048
    cpus: int = 2
    disk_gib: int = 8
    ssh_port: int = 2222
    smtp_port: int = 2525
    submission_port: int = 5587
    imaps_port: int = 9993
    smarthost_port: int = 10025  # the fake smarthost on the host's loopback
    dns_port: int = 10053  # the fake DNS (TCP) on the host's loopback
    acme_port: int = 14000  # the world's ACME server (pebble) on the host's loopback
    acme_management_port: int = 15000  # pebble's management listener (its roots), for the tests
    nic: str = "virtio-net-pci"
    disk_bus: str = "virtio"  # or "nvme" for the February-class hardware check
    disk_format: str = "qcow2"  # "raw" for a disk written by `february image flash`
    ssh_user: str = "root"  # a flashed host is reached as its admin user, with sudo
    own_ssh_key: bool = False  # a key of its own (a VM outside the VM inventory), not the shared one

    @property
    def dir(self) -> Path:
        return state_dir() / self.name

    @property
    def secrets(self) -> Path:
        """The site's secrets, shared by every local VM of the VM inventory:
        a rebuilt VM is the same server, so it gets the same secrets."""
        return state_dir() / "secrets"

    @property
    def world_ca(self) -> Path:
        """The test CA that signs the fake smarthost's certificate (made with the VM's secrets)."""
        return world_dir() / "ca.pem"

    @property
    def acme_tsig_secret(self) -> Path:
        """The TSIG secret (base64) shared by the fake DNS and the VM's ACME credentials."""
        return self.secrets / "acme-tsig.secret"

    @property
    def acme_credentials(self) -> Path:
        """certbot's rfc2136 credentials for the VM (tls.acme.credentials_file), holding the TSIG secret."""
        return self.secrets / "acme-rfc2136.ini"

    @property
    def qmp_socket(self) -> Path:
        """The running VM's QMP monitor (february/vm/qemu.py)."""
        return self.dir / "qmp.sock"

    @property
    def ssh_key(self) -> Path:
        return (self.dir if self.own_ssh_key else self.secrets) / "id_ed25519"

    @property
    def pidfile(self) -> Path:
        return self.dir / "qemu.pid"

    @property
    def console_log(self) -> Path:
        return self.dir / "console.log"

    def forwards(self) -> dict[str, tuple[int, int]]:
        """Service name to (host loopback port, guest port)."""
        return {
            "ssh": (self.ssh_port, 22),
            "smtp": (self.smtp_port, 25),
            "submission": (self.submission_port, 587),
            "imaps": (self.imaps_port, 993),
        }


DEFAULT = VmConfig()

# Further local VMs (the owner-path test's flashed host) get their own
# state folder and loopback ports.
_PORT_OFFSETS = {"vm": 0, "owner": 300}


def for_name(name: str) -> VmConfig:
    offset = _PORT_OFFSETS.get(name)
    if offset is None:
        raise ValueError(f"unknown VM slot {name!r}; known: {', '.join(_PORT_OFFSETS)}")
    return replace(
        DEFAULT,
        name=name,
        ssh_port=DEFAULT.ssh_port + offset,
        smtp_port=DEFAULT.smtp_port + offset,
        submission_port=DEFAULT.submission_port + offset,
        imaps_port=DEFAULT.imaps_port + offset,
    )


def from_environment() -> VmConfig:
    """The slot named by $FEBRUARY_VM (default: vm), as inventory/vm.py uses it."""
    return for_name(os.environ.get("FEBRUARY_VM", "vm"))

"""The golden image boots like February-class hardware: UEFI, NVMe disk, e1000e NIC.

A copy-on-write overlay of february.qcow2 (the artifact is never written)
boots with a fresh NoCloud seed and a new SSH key, on a closed user-net
(restrict=on) whose only way in is SSH on a free loopback port.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from february.paths import state_dir
from february.vm import qemu
from february.vm.config import VmConfig
from february.vm.seed import write_seed
from tests.image.conftest import TIMINGS, Baked

HOSTNAME = "golden.example.test"
# Loopback ports for this VM: clear of the dev VM (2222, 2525, ...) and of
# the Packer build's SSH forward (2300-2399).
PORT_RANGE = range(2400, 2500)


def free_ports(count: int) -> list[int]:
    ports: list[int] = []
    for port in PORT_RANGE:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError(f"no {count} free loopback ports in {PORT_RANGE}")


@dataclass(frozen=True)
class GoldenVm:
    config: VmConfig
    boot_seconds: float

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(qemu.ssh_argv(self.config) + [command], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def golden_vm(baked: Baked) -> Iterator[GoldenVm]:
    ssh, smtp, submission, imaps, smarthost, dns = free_ports(6)
    config = VmConfig(
        name="bake-boot",
        memory_mib=1536,
        cpus=2,
        disk_gib=4,
        ssh_port=ssh,
        smtp_port=smtp,
        submission_port=submission,
        imaps_port=imaps,
        smarthost_port=smarthost,  # nothing listens there: the guest's outside is dead
        dns_port=dns,
        nic="e1000e",
        disk_bus="nvme",
        own_ssh_key=True,  # not the VM inventory's shared key, which this test replaces
    )
    assert config.dir == state_dir() / "bake-boot"
    assert config.ssh_key.parent == config.dir  # never the shared key of the VM inventory
    qemu.stop(config)  # a VM left over from an interrupted session
    config.dir.mkdir(parents=True, exist_ok=True)
    (config.dir / "OVMF_VARS.fd").unlink(missing_ok=True)
    for stale in (config.ssh_key, config.ssh_key.with_suffix(".pub")):
        stale.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "february-golden-boot", "-f", str(config.ssh_key)], check=True)
    disk = config.dir / "disk.qcow2"
    qemu.make_overlay(baked.qcow2, disk, config.disk_gib)
    seed = config.dir / "seed.iso"
    write_seed(seed, HOSTNAME, [config.ssh_key.with_suffix(".pub").read_text().strip()])
    try:
        began = time.monotonic()
        qemu.start(config, disk, seed)
        qemu.wait_for_ssh(config, timeout=600)
        boot = time.monotonic() - began
        TIMINGS["golden_boot_to_ssh_s"] = boot
        yield GoldenVm(config=config, boot_seconds=boot)
    finally:
        qemu.stop(config)
        disk.unlink(missing_ok=True)


def test_it_boots_under_uefi_from_nvme(golden_vm: GoldenVm) -> None:
    done = golden_vm.run("test -d /sys/firmware/efi && findmnt -no SOURCE /")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("/dev/nvme0n1"), done.stdout


def test_the_e1000e_nic_gets_an_address_by_dhcp(golden_vm: GoldenVm) -> None:
    script = (
        "for dev in /sys/class/net/*; do "
        '[ -e "$dev/device/driver" ] && echo "$(basename "$dev") $(basename "$(readlink -f "$dev/device/driver")")"; '
        "done"
    )
    drivers = dict(line.split() for line in golden_vm.run(script).stdout.splitlines())
    nics = [name for name, driver in drivers.items() if driver == "e1000e"]
    assert len(nics) == 1, drivers
    deadline = time.monotonic() + 60
    while True:
        address = golden_vm.run(f"ip -4 -o addr show dev {nics[0]}").stdout
        if "inet 10.0.2.15/" in address or time.monotonic() > deadline:
            break
        time.sleep(2)
    # "dynamic": a DHCP lease, not a static address. (A restricted user-net's
    # DHCP offers no router and no DNS server: there is nowhere to go.)
    assert "inet 10.0.2.15/" in address and "dynamic" in address, address


def test_it_takes_its_identity_from_the_new_seed(golden_vm: GoldenVm) -> None:
    done = golden_vm.run("hostname; cloud-init status --wait | tail -1; ls /etc/ssh; cat /etc/machine-id")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert lines[0] in (HOSTNAME, HOSTNAME.split(".")[0])
    assert "status:" in lines and "done" in lines
    assert "ssh_host_ed25519_key" in lines
    machine_id = lines[-1]
    assert len(machine_id) == 32 and machine_id != "uninitialized"


def test_the_mail_services_wait_for_the_first_converge(golden_vm: GoldenVm) -> None:
    done = golden_vm.run("systemctl is-enabled postfix dovecot rspamd redis-server")
    assert done.stdout.split() == ["disabled"] * 4, done.stdout
    configured = golden_vm.run("grep -c '^smtpd_tls_auth_only = yes' /etc/postfix/main.cf; ufw status | head -1")
    assert configured.stdout.split("\n")[0] == "1"
    assert "Status: active" in configured.stdout


def test_its_network_leads_nowhere(golden_vm: GoldenVm) -> None:
    done = golden_vm.run("timeout 10 bash -c 'exec 3<>/dev/tcp/10.0.2.2/22' && echo reached || echo blocked")
    assert done.stdout.strip() == "blocked", done.stdout + done.stderr

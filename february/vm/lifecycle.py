"""`february vm`: build the base, start the outside world, boot, converge, report."""

from __future__ import annotations

import os
import time
from pathlib import Path

from february.converge import pyinfra_argv
from february.dns_records import zone_lines
from february.paths import REPO
from february.remote import dkim_records
from february.vm import qemu, rspamd_cache
from february.vm.config import DEFAULT, VmConfig
from february.vm.secrets import ensure_vm_secrets
from february.vm.seed import write_seed
from february.vm.world_process import spool, start_world, stop_world, write_zone
from images import oses
from images.base_image import base_image
from images.base_layer import BaseLayer
from images.progress import console, stage
from images.stream import run_streamed
from pyinfra_deploys.settings.inventory import InventoryHost, inventory_host
from pyinfra_deploys.settings.model import Settings

# The VM resolves through the fake DNS, over TCP (guestfwd carries TCP only).
RESOLV_CONF = "nameserver 10.0.2.100\noptions use-vc\n"


VM_INVENTORY = REPO / "inventory" / "vm.py"


def vm_host(config: VmConfig = DEFAULT) -> InventoryHost:
    """A VM slot as the host of the VM inventory, through the one settings path."""
    previous = os.environ.get("FEBRUARY_VM")
    os.environ["FEBRUARY_VM"] = config.name
    try:
        return inventory_host(VM_INVENTORY)
    finally:
        if previous is None:
            os.environ.pop("FEBRUARY_VM", None)
        else:
            os.environ["FEBRUARY_VM"] = previous


def vm_settings() -> Settings:
    return vm_host().settings


def boot(config: VmConfig = DEFAULT, base: Path | None = None, extra_disks: tuple[Path, ...] = ()) -> float:
    """Boot a fresh VM from ``base`` (default: the default OS's cached base), with ``extra_disks`` (raw) attached; return seconds to SSH."""
    config.dir.mkdir(parents=True, exist_ok=True)
    ensure_vm_secrets(config)
    settings = vm_settings()
    native_log = config.dir / "rspamd-native.log"
    native = rspamd_cache.start_native(native_log)  # beside the base and the boot: the first converge needs it
    if base is None:
        with stage(f"Base image ({oses.DEFAULT.title}, package layer from the deploy)") as on_line:
            base = base_image(BaseLayer.of(oses.DEFAULT), on_line=on_line)
    with stage("Outside world (fake smarthost and DNS on loopback)"):
        start_world(config)
    with stage(f"Boot the VM ({'KVM' if 'kvm' in qemu.accel_args() else 'TCG'})") as on_line:
        started = time.monotonic()
        disk = config.dir / "disk.qcow2"
        qemu.make_overlay(base, disk, config.disk_gib)
        seed = config.dir / "seed.vfat"
        write_seed(seed, settings.hostname, config.ssh_key.with_suffix(".pub").read_text().strip(), RESOLV_CONF)
        qemu.start(config, disk, seed, extra_disks)
        on_line("waiting for SSH")
        qemu.wait_for_ssh(config)
        on_line("waiting for cloud-init's last stage")
        qemu.wait_for_cloud_init(config)
        seconds = time.monotonic() - started
    with stage("Rspamd's databases compiled on this machine (natively, for the cache)") as on_line:
        on_line(rspamd_cache.finish_native(native, native_log))
    return seconds


def converge(config: VmConfig = DEFAULT, inventory: str = "inventory/vm.py") -> list[str]:
    """Run the deploy through pyinfra on the VM slot, streaming its output; return its lines."""
    env = {**os.environ, "FEBRUARY_VM": config.name}
    with stage(f"Converge deploy.py on {inventory}") as on_line:
        return run_streamed(pyinfra_argv(REPO / inventory, None), on_line=on_line, cwd=REPO, env=env)


def cold_converge(config: VmConfig = DEFAULT, inventory: Path = VM_INVENTORY, host: InventoryHost | None = None) -> list[str]:
    """A fresh VM's first converge: Rspamd's databases compiled by earlier lab VMs go in first, new ones are kept."""
    host = host or vm_host(config)
    with stage("Rspamd's compiled databases from earlier lab VMs") as on_line:
        on_line(f"{rspamd_cache.push(host)} files")
    lines = converge(config, str(inventory))
    rspamd_cache.pull(host)
    return lines


# The lab host's public address as its A record publishes it: a documentation
# address (RFC 5737), never contacted; the VM's real address is QEMU's.
LAB_PUBLIC_ADDRESS = "192.0.2.25"


def publish_dns(config: VmConfig = DEFAULT, host: InventoryHost | None = None) -> None:
    """Put the host's DNS records (with its DKIM key) into the fake DNS; default: the VM inventory's host."""
    host = host or vm_host(config)
    write_zone("\n".join(zone_lines(host.settings, dkim_records(host), LAB_PUBLIC_ADDRESS)) + "\n")


def up(config: VmConfig = DEFAULT) -> None:
    if qemu.running_pid(config) is None:
        boot(config)
        cold_converge(config)
    else:
        console.print(f"VM {config.name!r} is running; converging it again")
        start_world(config)
        converge(config)
    publish_dns(config)
    report(config)


def report(config: VmConfig = DEFAULT) -> None:
    console.print("\n[bold]February VM is up[/bold] (closed network; relays only to the fake smarthost)")
    console.print(f"  ssh         february vm ssh   (root@127.0.0.1 -p {config.ssh_port}, key {config.ssh_key})")
    console.print(f"  smtp        127.0.0.1:{config.smtp_port}  -> 25")
    console.print(f"  submission  127.0.0.1:{config.submission_port}  -> 587 (STARTTLS + AUTH)")
    console.print(f"  imaps       127.0.0.1:{config.imaps_port}  -> 993")
    console.print(f"  passwords   {config.secrets}/<address>.password")
    console.print(f"  relayed     {spool()} (what the fake smarthost received)")
    console.print("  stop        february vm stop")


def stop(config: VmConfig = DEFAULT) -> None:
    vm = qemu.stop(config)
    world = stop_world()
    console.print(f"VM: {'stopped' if vm else 'was not running'}; outside world: {'stopped' if world else 'was not running'}")

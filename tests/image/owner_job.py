"""The owner's new box, up to its first converge: flashed, booted, converged as the sudo user.

    python -m tests.image.owner_job SITE_FOLDER BAKED_FOLDER RESULT

tests/image/test_owner_path.py runs this in a process of its own while the
VM tests run (OwnerJob in tests/image/conftest.py): the box needs nothing
from the session's VM but Rspamd's compiled databases, which its converge
left on the host. What it saw on the way goes into RESULT (JSON); the test
then plugs in the backup disk the old server wrote and restores.
"""

from __future__ import annotations

import datetime
import json
import shlex
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from february.process import to_background
from february.vm import lifecycle, qemu
from february.vm.config import VmConfig, for_name
from february.vm.secrets import ensure_vm_secrets
from february.vm.world_process import start_world
from images.flash import HostIdentity, flash
from images.manifest import MANIFEST
from pyinfra_deploys import image_record, layout
from pyinfra_deploys.settings.inventory import inventory_host
from tests.image.secret_watch import watcher_command
from tests.vm.fixtures import BACKUP_LABEL, MOUNT_BACKUP_DISK
from tests.vm.mailvm import MailVm, sudo_inventory
from tests.vm.test_reconverge import changed_operations, grand_total

ADMIN = "owner"
SECRET_FILES = (
    "/etc/postfix/sasl_passwd",
    "/etc/postfix/sasl_passwd.db",
    "/etc/dovecot/users",
    layout.BACKUP_PASSWORD,
    layout.ACME_CREDENTIALS,
)
# Where a secret passes while the sudo user's first converge writes them: pyinfra's
# default staging, ours, the destinations. No secret may be readable by others at any moment.
WATCHED = ["/tmp/pyinfra-*", "/var/tmp/pyinfra-*", "/var/tmp/february-stage-*/*", *SECRET_FILES]
WATCH_OUT, WATCH_STOP = "/tmp/watch.out", "/tmp/watch.stop"
DISK_GIB = 8
# Outside the deploy: the owner's network gives a resolver, the lab VM's (the fake DNS answers
# over TCP only, so resolv.conf replaces the link to systemd-resolved's UDP stub).
RESOLVER = f"rm -f /etc/resolv.conf && printf %s {shlex.quote(lifecycle.RESOLV_CONF)} > /etc/resolv.conf"
# The owner's USB disk, plugged into the running box, comes up under its label.
BACKUP_DEVICE = f"/dev/disk/by-label/{BACKUP_LABEL}"
# The units an image leaves disabled and a host's first converge enables.
ENABLED_UNITS = (*layout.MAIL_SERVICES, layout.REDIS_SERVICE, layout.BACKUP_TIMER, layout.STATUS_TIMER, layout.ACME_TIMER)


@dataclass(frozen=True)
class Site:
    """What survives the host: the inventory and the owner's key (the backup disk is plugged in later)."""

    config: VmConfig
    folder: Path

    @property
    def inventory(self) -> Path:
        return self.folder / "owner_hosts.py"


def owner_config() -> VmConfig:
    """The owner's box: an e1000e NIC and an NVMe disk written by `february image flash`, reached as the admin user."""
    config = for_name("owner")
    return VmConfig(
        **{**config.__dict__, "nic": "e1000e", "disk_bus": "nvme", "disk_format": "raw", "ssh_user": ADMIN, "own_ssh_key": True}
    )


def make_site(folder: Path) -> Site:
    """A new site in ``folder``: the owner's key, the site's secrets (shared with the VM inventory), an inventory."""
    config = owner_config()
    qemu.stop(config)
    config.dir.mkdir(parents=True, exist_ok=True)
    for stale in (config.ssh_key, config.ssh_key.with_suffix(".pub")):
        stale.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "owner@laptop", "-f", str(config.ssh_key)], check=True)
    ensure_vm_secrets(config)  # the site's secrets (shared with the VM inventory) and the relay's test CA
    site = Site(config=config, folder=folder)
    sudo_inventory(folder, config, ADMIN, site.inventory.name)
    return site


@dataclass
class BroughtUp:
    """A flashed, booted and converged box, with what was seen on the way."""

    vm: MailVm
    facts: dict[str, str]
    timings: dict[str, float]


def bring_up(site: Site, baked: Path, disk: Path) -> BroughtUp:
    """Blank disk -> flashed with the golden image in ``baked`` -> booted -> converged, as the owner does it; nothing else attached."""
    manifest = json.loads((baked / MANIFEST).read_text())
    began = time.monotonic()
    timings: dict[str, float] = {}
    disk.unlink(missing_ok=True)
    with open(disk, "wb") as blank:
        blank.truncate(DISK_GIB * 2**30)
    host = inventory_host(site.inventory)
    identity = HostIdentity(
        hostname=host.settings.hostname,
        admin_user=ADMIN,
        ssh_public_key=site.config.ssh_key.with_suffix(".pub").read_text().strip(),
    )
    report = flash(baked / "february.raw", disk, identity, manifest=baked / MANIFEST, assume_yes=True, progress=False)
    timings["flash_s"] = time.monotonic() - began
    timings["flash_write_mib_per_s"] = report.write_mib_per_s
    start_world(site.config)
    started_at = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S UTC")
    qemu.start(site.config, disk, None)
    # QEMU's session of its own yields to the session VM's, whose tests meanwhile wait on it with timeouts.
    pid = qemu.running_pid(site.config)
    if pid is not None:
        to_background(pid)
    qemu.wait_for_ssh(site.config, timeout=600)
    timings["flash_to_ssh_s"] = time.monotonic() - began
    qemu.wait_for_cloud_init(site.config)
    vm = MailVm(config=site.config, started_at=started_at)
    facts = {
        "before_converge": vm.run(
            "cloud-init status --wait | tail -1; systemctl is-enabled postfix dovecot rspamd redis-server; "
            "ufw status | head -1; ls /etc/ssh; cat /etc/machine-id",
            check=False,
        ).stdout,
        "boot": vm.run(
            "hostname -f; findmnt -no SOURCE /; test -d /sys/firmware/efi && echo uefi; "
            "df -B1 --output=size / | tail -1; sudo -n true && echo sudo"
        ).stdout,
        "seeds": vm.run("blkid -o device -t LABEL=CIDATA; blkid -o device -t LABEL=cidata; true").stdout,
        "nics": vm.run(
            "for d in /sys/class/net/*; do [ -e $d/device/driver ] && basename $(readlink -f $d/device/driver); done; true"
        ).stdout,
        "network": vm.run(
            "timeout 10 bash -c 'exec 3<>/dev/tcp/10.0.2.2/22' && echo reached || echo blocked", check=False
        ).stdout,
    }
    vm.run(RESOLVER)
    vm.run(watcher_command(WATCHED, WATCH_STOP, WATCH_OUT))
    # A file left readable where pyinfra stages: the watcher must read it.
    facts["canary"] = f"canary-{uuid.uuid4().hex}"
    vm.run(f"echo {facts['canary']} > /tmp/pyinfra-canary && chmod 644 /tmp/pyinfra-canary")
    try:
        lines = lifecycle.cold_converge(site.config, site.inventory, host)
    finally:
        vm.run(f"rm -f /tmp/pyinfra-canary; touch {WATCH_STOP}; sleep 1")
    assert grand_total(lines)[2] == 0, "\n".join(lines[-40:])
    # Whether systemd still has to read the units the converge enabled (each systemctl would warn).
    facts["need_daemon_reload"] = vm.run(f"systemctl show -p NeedDaemonReload --value {' '.join(ENABLED_UNITS)}").stdout
    # What the image phase placed, as this first converge left it (compared with the manifest's record).
    facts["image_changed"] = "\n".join(changed_operations(lines, "Image: "))
    recorded = sorted(manifest["image_phase"]["files"])
    facts["image_files"] = vm.run(
        f"{image_record.record_command(recorded, WATCH_OUT + '.image')} && cat {WATCH_OUT}.image"
    ).stdout
    secrets = [
        site.config.secrets.joinpath(n).read_text().strip()
        for n in ("smarthost.password", "restic.password", "alice@example.test.hash")
    ]
    facts["watch"] = vm.run(f"cat {WATCH_OUT}").stdout
    facts["watch_found"] = " ".join(str(facts["watch"].count(secret)) for secret in secrets)
    timings["flash_to_converged_s"] = time.monotonic() - began
    return BroughtUp(vm=vm, facts=facts, timings=timings)


def plug_in_backup_disk(vm: MailVm, backup_disk: Path) -> None:
    """The owner plugs the backup disk into the running box and mounts it (fstab by label)."""
    qemu.plug_usb_disk(vm.config, backup_disk, "backup")
    vm.run(f"timeout 60 sh -c 'until [ -e {BACKUP_DEVICE} ]; do sleep 1; done' && {MOUNT_BACKUP_DISK}")


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    folder, baked, result = (Path(arg) for arg in argv[1:])
    up = bring_up(make_site(folder), baked, owner_config().dir / "disk.raw")
    result.write_text(json.dumps({"started_at": up.vm.started_at, "facts": up.facts, "timings": up.timings}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

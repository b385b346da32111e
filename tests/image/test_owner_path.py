"""The owner's path, end to end: the server dies, a blank disk is flashed and the last backup brings it back.

The first server is the session's VM (tests/vm), after every VM test: its
backup disk holds a restic repository, and `february backup now` saves it.
That VM is then stopped for good. The golden image (`images.flash`, what
`february image flash` runs) goes onto a blank NVMe disk file larger than
the image, with the host's identity written onto the disk itself. It boots
under UEFI with an e1000e NIC and nothing else attached but the owner's
backup disk: no seed made by the harness. Then, as the owner would: SSH in
as the admin user, converge through an inventory shaped like
inventory/hosts.py (ssh_user + _sudo), `february backup restore`: the old
mail reads over IMAPS with its owners and modes, the DKIM key and record are
the same, a second converge changes nothing and new mail flows.

What the harness does by hand is what the owner's network and hands give a
real box: a resolver (the fake DNS, over TCP) and the backup disk mounted.
Ordered last in the session (tests/conftest.py): it ends the session VM.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from february.paths import REPO
from february.remote import dkim_records
from february.vm import lifecycle, qemu
from february.vm.config import DEFAULT, VmConfig, for_name
from february.vm.secrets import ensure_vm_secrets
from february.vm.world_process import start_world
from images.flash import HostIdentity, flash
from images.stream import run_streamed
from pyinfra_deploys import image_record, layout
from pyinfra_deploys.settings.inventory import inventory_host
from tests.image.conftest import TIMINGS, Baked
from tests.image.secret_watch import watcher_command
from tests.vm.fixtures import MOUNT_BACKUP_DISK, make_backup_disk
from tests.vm.mailvm import MailVm, message, sudo_inventory
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
# Outside the deploy: the owner's network gives a resolver, the owner mounts the backup disk.
# (The fake DNS answers over TCP only, so resolv.conf replaces the link to systemd-resolved's UDP stub.)
CANARY = f"canary-{uuid.uuid4().hex}"
OWNERS_HANDS = (
    "rm -f /etc/resolv.conf && printf 'nameserver 10.0.2.100\\noptions use-vc\\n' > /etc/resolv.conf && " + MOUNT_BACKUP_DISK
)
# What a restore must bring back as it was: a message file, the mail store, the DKIM key.
STATS = "stat -c '%U %G %a' {message} /var/vmail/example.test/alice/Maildir " + layout.dkim_key("example.test", "february")


# The units an image leaves disabled and a host's first converge enables.
ENABLED_UNITS = (*layout.MAIL_SERVICES, layout.REDIS_SERVICE, layout.BACKUP_TIMER, layout.STATUS_TIMER, layout.ACME_TIMER)


def february(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "february", *args], capture_output=True, text=True, cwd=REPO, timeout=1800)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


@dataclass
class Site:
    """What survives the host: the inventory, the owner's key, the backup disk."""

    config: VmConfig
    folder: Path
    inventory: Path
    backup_disk: Path
    facts: dict[str, str] = field(default_factory=dict)


def make_site(folder: Path, backup_disk: Path | None = None) -> Site:
    config = for_name("owner")
    config = VmConfig(
        **{**config.__dict__, "nic": "e1000e", "disk_bus": "nvme", "disk_format": "raw", "ssh_user": ADMIN, "own_ssh_key": True}
    )
    qemu.stop(config)
    config.dir.mkdir(parents=True, exist_ok=True)
    for stale in (config.ssh_key, config.ssh_key.with_suffix(".pub")):
        stale.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "owner@laptop", "-f", str(config.ssh_key)], check=True)
    ensure_vm_secrets(config)  # the site's secrets (shared with the VM inventory) and the relay's test CA
    inventory = sudo_inventory(folder, config, ADMIN, "owner_hosts.py")
    if backup_disk is None:
        backup_disk = make_backup_disk(folder / "backup.img")
    return Site(config=config, folder=folder, inventory=inventory, backup_disk=backup_disk)


def bring_up(site: Site, baked: Baked, disk: Path) -> MailVm:
    """Blank disk -> flashed -> booted -> converged; returns the host."""
    began = time.monotonic()
    disk.unlink(missing_ok=True)
    with open(disk, "wb") as blank:
        blank.truncate(DISK_GIB * 2**30)
    host = inventory_host(site.inventory)
    identity = HostIdentity(
        hostname=host.settings.hostname,
        admin_user=ADMIN,
        ssh_public_key=site.config.ssh_key.with_suffix(".pub").read_text().strip(),
    )
    report = flash(baked.raw, disk, identity, manifest=baked.folder / "manifest.json", assume_yes=True, progress=False)
    TIMINGS["flash_s"] = time.monotonic() - began
    TIMINGS["flash_write_mib_per_s"] = report.write_mib_per_s
    (site.config.dir / "OVMF_VARS.fd").unlink(missing_ok=True)
    start_world(site.config)
    started_at = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S UTC")
    qemu.start(site.config, disk, None, extra_disks=(site.backup_disk,))
    qemu.wait_for_ssh(site.config, timeout=600)
    TIMINGS["flash_to_ssh_s"] = time.monotonic() - began
    qemu.wait_for_cloud_init(site.config)
    vm = MailVm(config=site.config, started_at=started_at)
    site.facts.setdefault(
        "before_converge",
        vm.run(
            "cloud-init status --wait | tail -1; systemctl is-enabled postfix dovecot rspamd redis-server; "
            "ufw status | head -1; ls /etc/ssh; cat /etc/machine-id",
            check=False,
        ).stdout,
    )
    vm.run(OWNERS_HANDS)
    watch = "watch" not in site.facts  # the first host's first converge writes every secret
    if watch:
        vm.run(watcher_command(WATCHED, WATCH_STOP, WATCH_OUT))
        # A file left readable where pyinfra stages: the watcher must read it.
        vm.run(f"echo {CANARY} > /tmp/pyinfra-canary && chmod 644 /tmp/pyinfra-canary")
    try:
        lines = lifecycle.cold_converge(site.config, site.inventory, inventory_host(site.inventory))
    finally:
        if watch:
            vm.run(f"rm -f /tmp/pyinfra-canary; touch {WATCH_STOP}; sleep 1")
    assert grand_total(lines)[2] == 0
    if watch:
        # Whether systemd still has to read the units the converge enabled (each systemctl would warn).
        site.facts["need_daemon_reload"] = vm.run(f"systemctl show -p NeedDaemonReload --value {' '.join(ENABLED_UNITS)}").stdout
        # What the image phase placed, as this first converge left it (compared with the manifest's record).
        site.facts["image_changed"] = "\n".join(changed_operations(lines, "Image: "))
        recorded = sorted(baked.manifest["image_phase"]["files"])
        site.facts["image_files"] = vm.run(
            f"{image_record.record_command(recorded, WATCH_OUT + '.image')} && cat {WATCH_OUT}.image"
        ).stdout
    if watch:
        secrets = [
            site.config.secrets.joinpath(n).read_text().strip()
            for n in ("smarthost.password", "restic.password", "alice@example.test.hash")
        ]
        site.facts["watch"] = vm.run(f"cat {WATCH_OUT}").stdout
        site.facts["watch_found"] = " ".join(str(site.facts["watch"].count(secret)) for secret in secrets)
    lifecycle.publish_dns(site.config, inventory_host(site.inventory))
    TIMINGS["flash_to_converged_s"] = time.monotonic() - began
    return vm


def mail_in_and_out(vm: MailVm, address: str, tag: str) -> tuple[str, dict[str, Any]]:
    """A message in on 25 (read back over IMAPS) and one out on 587; returns the inbound subject and the relayed record."""
    inbound = f"{tag} {uuid.uuid4().hex[:8]}"
    with vm.smtp() as client:
        client.send_message(message("carol@example.net", address, inbound))
    vm.wait_for_message(address, inbound)
    outbound = f"relayed {tag} {uuid.uuid4().hex[:8]}"
    with vm.submission(address) as client:
        client.send_message(message(address, "dave@example.net", outbound))
    return inbound, vm.wait_for_relayed(outbound)


def dkim_key_sha(vm: MailVm) -> str:
    return vm.run(f"sha256sum {layout.dkim_key('example.test', 'february')}").stdout.split()[0]


def stats(vm: MailVm, subject: str) -> str:
    """Owner, group and mode of the message with ``subject``, of the mail store and of the DKIM key."""
    found = vm.run(
        f"grep -rlF '{subject}' /var/vmail/example.test/alice/Maildir/cur /var/vmail/example.test/alice/Maildir/new"
    ).stdout.split()
    assert len(found) == 1, found
    return vm.run(STATS.format(message=found[0])).stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, backup_disk: Path) -> Site:
    return make_site(tmp_path_factory.mktemp("owner-site"), backup_disk)


@pytest.fixture(scope="module")
def backed_up(site: Site, mailvm: MailVm) -> Site:
    """Mail in and out on the session's VM, `february backup now`, then that server is gone."""
    inbound, relayed = mail_in_and_out(mailvm, "alice@example.test", "before the disk died")
    assert "DKIM-Signature:" in relayed["data"]
    mailvm.wait_for_message("alice@example.test", inbound)
    february("backup", "now", "-i", str(lifecycle.VM_INVENTORY))
    site.facts.update(
        inbound=inbound,
        stats=stats(mailvm, inbound),
        dkim_sha=dkim_key_sha(mailvm),
        dkim_record=dkim_records(lifecycle.vm_host())["example.test"],
    )
    qemu.stop(DEFAULT)
    return site


@pytest.fixture(scope="module")
def restored(backed_up: Site, baked: Baked) -> Iterator[MailVm]:
    disk = backed_up.config.dir / "disk.raw"
    began = time.monotonic()
    try:
        vm = bring_up(backed_up, baked, disk)
        backed_up.facts.update(
            boot=vm.run(
                "hostname -f; findmnt -no SOURCE /; test -d /sys/firmware/efi && echo uefi; "
                "df -B1 --output=size / | tail -1; sudo -n true && echo sudo"
            ).stdout,
            seeds=vm.run("blkid -o device -t LABEL=CIDATA; blkid -o device -t LABEL=cidata; true").stdout,
            nics=vm.run(
                "for d in /sys/class/net/*; do [ -e $d/device/driver ] && basename $(readlink -f $d/device/driver); done; true"
            ).stdout,
            network=vm.run(
                "timeout 10 bash -c 'exec 3<>/dev/tcp/10.0.2.2/22' && echo reached || echo blocked", check=False
            ).stdout,
        )
        february("backup", "restore", "-i", str(backed_up.inventory))
        TIMINGS["blank_disk_to_restored_s"] = time.monotonic() - began
        yield vm
    finally:
        qemu.stop(backed_up.config)
        disk.unlink(missing_ok=True)


def test_the_flashed_disk_boots_reachable_with_nothing_but_itself(backed_up: Site, restored: MailVm, baked: Baked) -> None:
    lines = backed_up.facts["boot"].split()
    assert lines[0] == "mail.example.test"
    assert lines[1].startswith("/dev/nvme0n1") and "uefi" in lines
    size = int(lines[lines.index("uefi") + 1])
    assert size > baked.raw.stat().st_size, "the root filesystem did not grow into the larger disk"
    assert "sudo" in lines
    # The only seed is the one flash wrote onto the disk itself.
    assert backed_up.facts["seeds"].split() == ["/dev/nvme0n1p3"]


def test_no_secret_was_readable_by_others_while_the_sudo_user_converged(backed_up: Site, restored: MailVm) -> None:
    seen = backed_up.facts["watch"]
    assert f"read /tmp/pyinfra-canary\n{CANARY}\n" in seen, "the watcher did not read a readable file"
    # It watched while each secret was written: an event for each destination (or its folder was
    # closed to it), and it could read none of them.
    noted = {tuple(line.split(" ", 1)) for line in seen.splitlines() if line.startswith(("event ", "closed "))}
    unseen = [path for path in SECRET_FILES if ("event", path) not in noted and ("closed", os.path.dirname(path)) not in noted]
    assert not unseen, seen
    # It read what others may read (pyinfra stages every upload 0644 in /tmp), but never a
    # secret destination, and no secret value is in anything it read.
    reads = {line.split(" ", 1)[1] for line in seen.splitlines() if line.startswith("read ")}
    assert not reads & set(SECRET_FILES), reads & set(SECRET_FILES)
    assert backed_up.facts["watch_found"] == "0 0 0"
    for path in SECRET_FILES:
        assert restored.host.file(path).mode & 0o007 == 0, path
    assert restored.host.file(f"/var/tmp/february-stage-{ADMIN}").mode == 0o700


def test_first_boot_took_the_seed_and_the_mail_services_wait_for_the_converge(backed_up: Site, restored: MailVm) -> None:
    lines = backed_up.facts["before_converge"].split()
    assert "status:" in lines and "done" in lines
    assert lines[lines.index("done") + 1 : lines.index("done") + 5] == ["disabled"] * 4
    assert "active" in lines  # UFW: the image's rules are on before any converge
    assert "ssh_host_ed25519_key" in lines
    machine_id = lines[-1]
    assert len(machine_id) == 32 and machine_id != "uninitialized"


def test_the_first_converge_leaves_no_unit_waiting_for_a_daemon_reload(backed_up: Site, restored: MailVm) -> None:
    assert backed_up.facts["need_daemon_reload"].split() == ["no"] * len(ENABLED_UNITS)


def test_the_first_converge_of_the_flashed_host_changed_nothing_the_image_phase_placed(
    backed_up: Site, restored: MailVm, baked: Baked
) -> None:
    recorded = baked.manifest["image_phase"]
    assert {layout.POSTFIX_MAIN_CF, layout.DOVECOT_CONF, layout.STATUS_SCRIPT} <= set(recorded["files"])
    # no secret and nothing per host is in the image phase
    assert not {layout.DOVECOT_USERS, layout.SASL_PASSWD, layout.BACKUP_ENV, layout.STATUS_CONFIG} & set(recorded["files"])
    assert backed_up.facts["image_changed"] == ""
    assert image_record.parse_record(backed_up.facts["image_files"]) == recorded


def test_the_e1000e_nic_is_used_and_the_network_leads_nowhere_else(backed_up: Site, restored: MailVm) -> None:
    assert backed_up.facts["nics"].split() == ["e1000e"]
    assert backed_up.facts["network"].strip() == "blocked"


def test_mail_from_before_the_disk_died_reads_over_imaps_with_its_owners_and_modes(backed_up: Site, restored: MailVm) -> None:
    restored.wait_for_message("alice@example.test", backed_up.facts["inbound"], timeout=30)
    assert stats(restored, backed_up.facts["inbound"]) == backed_up.facts["stats"]


def test_the_dkim_key_and_its_dns_record_are_unchanged(backed_up: Site, restored: MailVm) -> None:
    assert dkim_key_sha(restored) == backed_up.facts["dkim_sha"]
    assert dkim_records(inventory_host(backed_up.inventory))["example.test"] == backed_up.facts["dkim_record"]


def test_a_second_converge_after_the_restore_changes_nothing(backed_up: Site, restored: MailVm) -> None:
    lines = run_streamed([sys.executable, "-m", "pyinfra", "-y", str(backed_up.inventory), "deploy.py"], cwd=REPO)
    assert grand_total(lines)[1:3] == (0, 0)


def test_new_mail_flows_in_and_out_signed_with_the_old_key(restored: MailVm) -> None:
    _, record = mail_in_and_out(restored, "bob@example.test", "after the restore")
    assert record["tls"] is True and record["auth_login"] == restored.relay_login
    assert "DKIM-Signature:" in record["data"] and "s=february" in record["data"]


def test_the_secrets_on_the_rebuilt_host_are_owner_only(restored: MailVm) -> None:
    for path in ("/etc/postfix/sasl_passwd", "/etc/postfix/sasl_passwd.db", layout.BACKUP_PASSWORD, layout.TLS_KEY):
        assert restored.host.file(path).mode & 0o077 == 0, path

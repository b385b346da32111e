"""The owner's path, end to end: the server dies, a blank disk is flashed and the last backup brings it back.

The first server is the session's VM (tests/vm), after every VM test: its
backup disk holds a restic repository, and `february backup now` saves it.
That VM is then stopped for good. The new box is the golden image
(`images.flash`, what `february image flash` runs) on a blank NVMe disk file
larger than the image, with the host's identity written onto the disk
itself. It boots under UEFI with an e1000e NIC and nothing else attached: no
seed made by the harness. As the owner would, SSH in as the admin user and
converge through an inventory shaped like inventory/hosts.py (ssh_user +
_sudo). That much needs nothing of the old server, so it runs while the VM
tests do (tests/image/owner_job.py). Then the owner plugs the old server's
backup disk into the new box over USB and runs `february backup restore`:
the old mail reads over IMAPS with its owners and modes, the DKIM key and
record are the same, a second converge changes nothing and new mail flows.

What the harness does by hand is what the owner's network and hands give a
real box: a resolver (the fake DNS, over TCP) and the backup disk mounted.
Ordered last in the session (tests/conftest.py): it ends the session VM.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from february.converge import pyinfra_argv
from february.paths import REPO
from february.remote import dkim_records
from february.vm import lifecycle, qemu
from february.vm.config import DEFAULT
from images.stream import run_streamed
from pyinfra_deploys import image_record, layout
from pyinfra_deploys.settings.inventory import inventory_host
from tests import cli
from tests.image.conftest import OWNER, TIMINGS, Baked
from tests.image.owner_job import ADMIN, ENABLED_UNITS, SECRET_FILES, Site, owner_config, plug_in_backup_disk
from tests.vm.mailvm import MailVm, message
from tests.vm.test_reconverge import grand_total

# What a restore must bring back as it was: a message file, the mail store, the DKIM key.
STATS = "stat -c '%U %G %a' {message} /var/vmail/example.test/alice/Maildir " + layout.dkim_key("example.test", "february")


def february(*args: str) -> subprocess.CompletedProcess[str]:
    return cli.february(*args, check=True)


@dataclass
class OwnerBox:
    """The owner's new box as its first converge left it (tests/image/owner_job.py), and what was seen on the way."""

    site: Site
    vm: MailVm
    facts: dict[str, str]


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
def owner_box(baked: Baked) -> OwnerBox:
    """The box the owner flashed and converged while the VM tests ran (started by tests/image/conftest.py)."""
    OWNER.start()  # a no-op when it started while the VM tests ran
    done = OWNER.wait()
    TIMINGS.update(done["timings"])
    site = Site(config=owner_config(), folder=OWNER.site)
    return OwnerBox(site=site, vm=MailVm(config=site.config, started_at=done["started_at"]), facts=done["facts"])


@pytest.fixture(scope="module")
def backed_up(mailvm: MailVm) -> dict[str, str]:
    """Mail in and out on the session's VM, `february backup now`, then that server is gone; what it held."""
    inbound, relayed = mail_in_and_out(mailvm, "alice@example.test", "before the disk died")
    assert "DKIM-Signature:" in relayed["data"]
    mailvm.wait_for_message("alice@example.test", inbound)
    february("backup", "now", "-i", str(lifecycle.VM_INVENTORY))
    held = {
        "inbound": inbound,
        "stats": stats(mailvm, inbound),
        "dkim_sha": dkim_key_sha(mailvm),
        "dkim_record": dkim_records(lifecycle.vm_host())["example.test"],
    }
    qemu.stop(DEFAULT)
    return held


@pytest.fixture(scope="module")
def restored(owner_box: OwnerBox, backed_up: dict[str, str], backup_disk: Path) -> Iterator[MailVm]:
    """The old server's backup disk plugged into the new box, its DNS records published, `february backup restore`."""
    began = time.monotonic()
    try:
        plug_in_backup_disk(owner_box.vm, backup_disk)
        lifecycle.publish_dns(owner_box.site.config, inventory_host(owner_box.site.inventory))
        february("backup", "restore", "-i", str(owner_box.site.inventory))
        TIMINGS["backup_disk_to_restored_s"] = time.monotonic() - began
        yield owner_box.vm
    finally:
        qemu.stop(owner_box.site.config)
        (owner_box.site.config.dir / "disk.raw").unlink(missing_ok=True)


def test_the_flashed_disk_boots_reachable_with_nothing_but_itself(owner_box: OwnerBox, baked: Baked) -> None:
    lines = owner_box.facts["boot"].split()
    assert lines[0] == "mail.example.test"
    assert lines[1].startswith("/dev/nvme0n1") and "uefi" in lines
    size = int(lines[lines.index("uefi") + 1])
    assert size > baked.raw.stat().st_size, "the root filesystem did not grow into the larger disk"
    assert "sudo" in lines
    # The only seed is the one flash wrote onto the disk itself.
    assert owner_box.facts["seeds"].split() == ["/dev/nvme0n1p3"]


def test_no_secret_was_readable_by_others_while_the_sudo_user_converged(owner_box: OwnerBox, restored: MailVm) -> None:
    seen = owner_box.facts["watch"]
    assert f"read /tmp/pyinfra-canary\n{owner_box.facts['canary']}\n" in seen, "the watcher did not read a readable file"
    # It watched while each secret was written: an event for each destination (or its folder was
    # closed to it), and it could read none of them.
    noted = {tuple(line.split(" ", 1)) for line in seen.splitlines() if line.startswith(("event ", "closed "))}
    unseen = [path for path in SECRET_FILES if ("event", path) not in noted and ("closed", os.path.dirname(path)) not in noted]
    assert not unseen, seen
    # It read what others may read (pyinfra stages every upload 0644 in /tmp), but never a
    # secret destination, and no secret value is in anything it read.
    reads = {line.split(" ", 1)[1] for line in seen.splitlines() if line.startswith("read ")}
    assert not reads & set(SECRET_FILES), reads & set(SECRET_FILES)
    assert owner_box.facts["watch_found"] == "0 0 0"
    for path in SECRET_FILES:
        assert restored.host.file(path).mode & 0o007 == 0, path
    assert restored.host.file(f"/var/tmp/february-stage-{ADMIN}").mode == 0o700


def test_first_boot_took_the_seed_and_the_mail_services_wait_for_the_converge(owner_box: OwnerBox) -> None:
    lines = owner_box.facts["before_converge"].split()
    assert "status:" in lines and "done" in lines
    assert lines[lines.index("done") + 1 : lines.index("done") + 5] == ["disabled"] * 4
    assert "active" in lines  # UFW: the image's rules are on before any converge
    assert "ssh_host_ed25519_key" in lines
    machine_id = lines[-1]
    assert len(machine_id) == 32 and machine_id != "uninitialized"


def test_the_first_converge_leaves_no_unit_waiting_for_a_daemon_reload(owner_box: OwnerBox) -> None:
    assert owner_box.facts["need_daemon_reload"].split() == ["no"] * len(ENABLED_UNITS)


def test_the_first_converge_of_the_flashed_host_changed_nothing_the_image_phase_placed(owner_box: OwnerBox, baked: Baked) -> None:
    recorded = baked.manifest["image_phase"]
    assert {layout.POSTFIX_MAIN_CF, layout.DOVECOT_CONF, layout.STATUS_SCRIPT} <= set(recorded["files"])
    # no secret and nothing per host is in the image phase
    assert not {layout.DOVECOT_USERS, layout.SASL_PASSWD, layout.BACKUP_ENV, layout.STATUS_CONFIG} & set(recorded["files"])
    assert owner_box.facts["image_changed"] == ""
    assert image_record.parse_record(owner_box.facts["image_files"]) == recorded


def test_the_e1000e_nic_is_used_and_the_network_leads_nowhere_else(owner_box: OwnerBox) -> None:
    assert owner_box.facts["nics"].split() == ["e1000e"]
    assert owner_box.facts["network"].strip() == "blocked"


def test_mail_from_before_the_disk_died_reads_over_imaps_with_its_owners_and_modes(
    backed_up: dict[str, str], restored: MailVm
) -> None:
    restored.wait_for_message("alice@example.test", backed_up["inbound"], timeout=30)
    assert stats(restored, backed_up["inbound"]) == backed_up["stats"]


def test_the_dkim_key_and_its_dns_record_are_unchanged(owner_box: OwnerBox, backed_up: dict[str, str], restored: MailVm) -> None:
    assert dkim_key_sha(restored) == backed_up["dkim_sha"]
    assert dkim_records(inventory_host(owner_box.site.inventory))["example.test"] == backed_up["dkim_record"]


def test_a_second_converge_after_the_restore_changes_nothing(owner_box: OwnerBox, restored: MailVm) -> None:
    lines = run_streamed(pyinfra_argv(owner_box.site.inventory, None), cwd=REPO)
    assert grand_total(lines)[1:3] == (0, 0)


def test_new_mail_flows_in_and_out_signed_with_the_old_key(restored: MailVm) -> None:
    _, record = mail_in_and_out(restored, "bob@example.test", "after the restore")
    assert record["tls"] is True and record["auth_login"] == restored.relay_login
    assert "DKIM-Signature:" in record["data"] and "s=february" in record["data"]


def test_the_secrets_on_the_rebuilt_host_are_owner_only(restored: MailVm) -> None:
    for path in ("/etc/postfix/sasl_passwd", "/etc/postfix/sasl_passwd.db", layout.BACKUP_PASSWORD, layout.TLS_KEY):
        assert restored.host.file(path).mode & 0o077 == 0, path

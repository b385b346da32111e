"""Flashing: a small fake golden image (GPT, ESP, ext4 root) onto disk files, no VM.

The image is built like images/disk.py builds the real one (sfdisk, then
filesystems made in files and placed at their offsets), 64 MiB instead of 4 GiB.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from february.cli import app
from images.flash import FlashError, check_target, device_in_use, file_in_use, flash, human_size, root_disks
from images.pipeline import artifact_record
from images.seed import HostIdentity, check_ssh_public_key, identity_of, user_data
from pyinfra_deploys.settings.inventory import inventory_host

MIB = 1024 * 1024
pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("sfdisk", "mke2fs", "mkfs.vfat", "mcopy", "mtype")),
    reason="needs sfdisk, mke2fs, mkfs.vfat and mtools",
)


def public_key(comment: str = "owner@laptop") -> str:
    key = Ed25519PrivateKey.generate().public_key()
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}"


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """build/images/<hash>/february.raw and its manifest.json, in miniature."""
    folder = tmp_path_factory.mktemp("images") / "0123456789abcdef"
    folder.mkdir()
    root = folder / "rootdir"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "hostname").write_text("localhost\n")
    rootfs = folder / "root.img"
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-L", "root", "-d", root, rootfs, "54M"], check=True)
    esp = folder / "esp.img"
    subprocess.run(["truncate", "-s", "8M", esp], check=True)
    subprocess.run(["mkfs.vfat", "-n", "ESP", esp], check=True, capture_output=True)
    raw = folder / "february.raw"
    subprocess.run(["truncate", "-s", "64M", raw], check=True)
    table = "label: gpt\nstart=1MiB, size=8MiB, type=U, name=ESP\nstart=9MiB, size=54MiB, type=L, name=root\n"
    subprocess.run(["sfdisk", "--quiet", raw], input=table, text=True, check=True)
    for image, start in ((esp, 1), (rootfs, 9)):
        subprocess.run(["dd", f"if={image}", f"of={raw}", "bs=1M", f"seek={start}", "conv=notrunc", "status=none"], check=True)
    manifest = {"artifacts": {"february.raw": artifact_record(raw)}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return raw


@pytest.fixture(scope="module")
def identity() -> HostIdentity:
    return HostIdentity(hostname="mail.example.test", admin_user="owner", ssh_public_key=public_key())


def sfdisk_json(disk: Path) -> dict:
    return json.loads(subprocess.run(["sfdisk", "-J", disk], capture_output=True, text=True, check=True).stdout)["partitiontable"]


def test_flash_writes_verifies_relocates_and_seeds(golden: Path, identity: HostIdentity, tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    report = flash(golden, disk, identity, assume_yes=True, progress=False, size=160 * MIB)

    manifest = json.loads((golden.parent / "manifest.json").read_text())
    assert report.sha256 == manifest["artifacts"]["february.raw"]["sha256"]
    assert disk.stat().st_size == 160 * MIB
    # The backup GPT is at the real end now, and the table is clean.
    table = sfdisk_json(disk)
    assert table["lastlba"] == 160 * MIB // 512 - 34
    verify = subprocess.run(["sfdisk", "--verify", disk], capture_output=True, text=True, check=True)
    assert "No errors detected" in verify.stdout and not verify.stderr.strip(), verify.stdout + verify.stderr
    # ESP and root are the image's bytes, untouched by the seeding.
    with open(golden, "rb") as image, open(disk, "rb") as written:
        image.seek(MIB)
        written.seek(MIB)
        assert hashlib.sha256(written.read(63 * MIB)).digest() == hashlib.sha256(image.read(63 * MIB)).digest()

    seed = next(p for p in table["partitions"] if p.get("name") == "CIDATA")
    assert (seed["start"], seed["size"]) == (34, 2048 - 34)
    assert seed["start"] + seed["size"] <= min(p["start"] for p in table["partitions"] if p is not seed)
    where = f"{disk}@@{seed['start'] * 512}"
    label = subprocess.run(["mlabel", "-i", where, "-s", "::"], capture_output=True, text=True, check=True).stdout
    assert "CIDATA" in label
    text = subprocess.run(["mtype", "-i", where, "::user-data"], capture_output=True, text=True, check=True).stdout
    assert text.startswith("#cloud-config\n")
    config = json.loads(text.split("\n", 1)[1])
    assert config["fqdn"] == "mail.example.test" and config["hostname"] == "mail"
    [user] = config["users"]
    assert user["name"] == "owner" and user["sudo"] == "ALL=(ALL) NOPASSWD:ALL"
    assert user["ssh_authorized_keys"] == [identity.ssh_public_key]
    assert config["growpart"] == {"mode": "auto", "devices": ["/"]} and config["resize_rootfs"] is True
    meta = json.loads(subprocess.run(["mtype", "-i", where, "::meta-data"], capture_output=True, text=True, check=True).stdout)
    assert meta["local-hostname"] == "mail" and meta["instance-id"].startswith("february-")


@pytest.mark.skipif(shutil.which("growpart") is None, reason="needs growpart (cloud-guest-utils)")
def test_the_seed_partition_does_not_block_growing_root(golden: Path, identity: HostIdentity, tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    flash(golden, disk, identity, assume_yes=True, progress=False, size=160 * MIB)
    done = subprocess.run(["growpart", "--dry-run", disk, "2"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    # Root (starts at 9 MiB) may grow to the sector before the backup GPT.
    last_usable = 160 * MIB // 512 - 34
    assert f"new: size={last_usable - 9 * 2048 + 1} end={last_usable}" in done.stdout, done.stdout


def test_a_tampered_image_fails_verification(golden: Path, identity: HostIdentity, tmp_path: Path) -> None:
    folder = tmp_path / "build"
    folder.mkdir()
    image = folder / "february.raw"
    shutil.copyfile(golden, image)
    shutil.copyfile(golden.parent / "manifest.json", folder / "manifest.json")
    with open(image, "r+b") as handle:
        handle.seek(20 * MIB + 123)
        byte = handle.read(1)
        handle.seek(20 * MIB + 123)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(FlashError, match="does not match the sha256 in its manifest"):
        flash(image, tmp_path / "disk.img", identity, assume_yes=True, progress=False, size=128 * MIB)
    # Nothing was seeded onto the disk.
    assert not any(p.get("name") == "CIDATA" for p in sfdisk_json(tmp_path / "disk.img")["partitions"])


def test_a_target_smaller_than_the_image_is_refused(golden: Path, identity: HostIdentity, tmp_path: Path) -> None:
    small = tmp_path / "small.img"
    small.write_bytes(b"keep" * 1024)
    with pytest.raises(FlashError, match="pass --size"):
        flash(golden, small, identity, assume_yes=True, progress=False)
    with pytest.raises(FlashError, match="does not exist"):
        flash(golden, tmp_path / "missing.img", identity, assume_yes=True, progress=False)
    assert small.read_bytes() == b"keep" * 1024


def test_a_size_smaller_than_the_image_is_named_as_such(golden: Path, identity: HostIdentity, tmp_path: Path) -> None:
    # The golden image is 64 MiB; --size was given, so "pass --size" would be wrong advice.
    for target in (tmp_path / "missing.img", tmp_path / "small.img"):
        if target.name == "small.img":
            target.write_bytes(b"keep" * 1024)
        with pytest.raises(FlashError) as refused:
            flash(golden, target, identity, assume_yes=True, progress=False, size=32 * MIB)
        message = str(refused.value)
        assert message.startswith("--size 32M is smaller than the image (64M)"), message
        assert "does not exist" not in message and "pass --size" not in message
    assert (tmp_path / "small.img").read_bytes() == b"keep" * 1024
    with pytest.raises(FlashError, match=r"--size 32M is smaller than the image \(64M\) \(and .*big.img has 48M\)"):
        big = tmp_path / "big.img"
        big.write_bytes(bytes(48 * MIB))
        check_target(big, 64 * MIB, 32 * MIB, proc_mounts="", sys_block=tmp_path)


def test_sizes_are_named_in_the_units_size_takes() -> None:
    assert human_size(64 * MIB) == "64M" and human_size(1 << 30) == "1G" and human_size(1536 * MIB) == "1536M"
    assert human_size(4 * (1 << 30) + 1, up=True) == "5G" and human_size(1000) == "1000 bytes"


def test_without_yes_and_without_a_terminal_nothing_is_written(golden: Path, identity: HostIdentity, tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\x01" * (96 * MIB))
    with pytest.raises(FlashError, match="no terminal"):
        flash(golden, disk, identity, assume_yes=False, progress=False)  # pytest's stdin is no tty
    with pytest.raises(FlashError, match="not confirmed"):
        flash(golden, disk, identity, assume_yes=False, progress=False, ask=lambda _question: False)
    assert disk.read_bytes()[:4096] == b"\x01" * 4096


# ----- the refusal predicates, on fake /proc/mounts and /sys -----

MOUNTS = """\
sysfs /sys sysfs rw 0 0
/dev/sda2 / ext4 rw,relatime 0 0
/dev/sda1 /boot/efi vfat rw 0 0
/dev/sdb1 /media/usb\\040stick vfat rw 0 0
overlay /var/lib/docker/x overlay rw 0 0
"""


def fake_sys(tmp_path: Path) -> tuple[Path, Path]:
    """/sys/block with sda (sda1, sda2), sdb (sdb1), sdc (sdc1 held by dm-0), sdd (empty)."""
    block, cls = tmp_path / "sys" / "block", tmp_path / "sys" / "class" / "block"
    cls.mkdir(parents=True)
    for disk, parts in {"sda": ["sda1", "sda2"], "sdb": ["sdb1"], "sdc": ["sdc1"], "sdd": []}.items():
        (block / disk / "holders").mkdir(parents=True)
        (cls / disk).symlink_to(block / disk)
        for part in parts:
            (block / disk / part / "holders").mkdir(parents=True)
            (block / disk / part / "partition").write_text("1\n")
            (cls / part).symlink_to(block / disk / part)
    (block / "sdc" / "sdc1" / "holders" / "dm-0").mkdir()
    return block, cls


def test_the_disk_behind_slash_is_refused(tmp_path: Path) -> None:
    block, cls = fake_sys(tmp_path)
    assert root_disks(MOUNTS, cls) == {"sda"}
    assert "running system's /" in (device_in_use("sda", MOUNTS, block, cls) or "")


def test_a_mounted_or_held_disk_is_refused_and_a_free_one_is_not(tmp_path: Path) -> None:
    block, cls = fake_sys(tmp_path)
    assert "is mounted on /media/usb stick" in (device_in_use("sdb", MOUNTS, block, cls) or "")
    assert "held by dm-0" in (device_in_use("sdc", MOUNTS, block, cls) or "")
    assert device_in_use("sdd", MOUNTS, block, cls) is None


def test_root_on_lvm_is_traced_to_its_disks(tmp_path: Path) -> None:
    block, cls = fake_sys(tmp_path)
    (block / "dm-0" / "slaves").mkdir(parents=True)
    (block / "dm-0" / "slaves" / "sdc1").mkdir()
    (cls / "dm-0").symlink_to(block / "dm-0")
    assert root_disks("/dev/dm-0 / ext4 rw 0 0\n", cls) == {"sdc"}


def test_a_disk_file_served_by_a_loop_device_is_refused(tmp_path: Path) -> None:
    block, _ = fake_sys(tmp_path)
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"")
    (block / "loop3" / "loop").mkdir(parents=True)
    (block / "loop3" / "loop" / "backing_file").write_text(f"{disk}\n")
    assert "attached to /dev/loop3" in (file_in_use(disk, block) or "")
    with pytest.raises(FlashError, match="loop3"):
        check_target(disk, 1, 10, proc_mounts="", sys_block=block)


# ----- the identity -----


def test_a_key_must_be_exactly_one_public_key_line() -> None:
    good = public_key()
    assert check_ssh_public_key(good + "\n") == good
    for bad in (
        good + "\n" + good,  # two keys
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        good.replace("ssh-ed25519", "ssh-rsa", 1),  # the blob says ed25519
        "ssh-ed25519 not-base64!",
        good.split()[0] + " " + good.split()[1][:-8],  # truncated
    ):
        with pytest.raises(ValueError, match="february_admin_ssh_key"):
            check_ssh_public_key(bad)
    with pytest.raises(ValueError, match="ssh_user"):
        HostIdentity("mail.example.test", "Root; rm", good)


def test_a_hostile_comment_stays_inside_its_string() -> None:
    key = public_key('x"}, "runcmd": ["reboot"], "y": {"z": "#')
    config = json.loads(user_data(HostIdentity("mail.example.test", "ubuntu", key)).split("\n", 1)[1])
    assert "runcmd" not in config and config["users"][0]["ssh_authorized_keys"] == [key]


def write_inventory(folder: Path, key_value: str) -> Path:
    (folder / "group_data").mkdir(parents=True)
    (folder / "group_data" / "all.py").write_text('february = {"hostname": "mx.owner.test", "domain": "owner.test"}\n')
    inventory = folder / "hosts.py"
    inventory.write_text(f'mail = [("box.lan", {{"ssh_user": "owner", "february_admin_ssh_key": {key_value!r}}})]\n')
    return inventory


def test_the_identity_comes_from_the_inventory_host_data(tmp_path: Path) -> None:
    key = public_key()
    (tmp_path / "id.pub").write_text(key + "\n")
    inventory = write_inventory(tmp_path / "inv", str(tmp_path / "id.pub"))
    assert identity_of(inventory_host(inventory, "box.lan")) == HostIdentity("mx.owner.test", "owner", key)
    (tmp_path / "inv" / "keyless.py").write_text('mail = [("box.lan", {"ssh_user": "owner"})]\n')
    with pytest.raises(ValueError, match="no february_admin_ssh_key"):
        identity_of(inventory_host(tmp_path / "inv" / "keyless.py", "box.lan"))


def test_cli_seed_and_flash_refusal(golden: Path, tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path / "inv", public_key())
    out = tmp_path / "seed.img"
    done = CliRunner().invoke(app, ["image", "seed", "--inventory", str(inventory), "--host", "box.lan", "--out", str(out)])
    assert done.exit_code == 0, done.output
    user = subprocess.run(["mtype", "-i", out, "::user-data"], capture_output=True, text=True, check=True).stdout
    assert '"fqdn": "mx.owner.test"' in user
    disk = tmp_path / "disk.img"
    argv = ["image", "flash", str(golden), str(disk), "--inventory", str(inventory), "--host", "box.lan", "--size", "96M"]
    done = CliRunner().invoke(app, argv)
    assert done.exit_code == 1 and "--yes" in done.output and not disk.exists()
    done = CliRunner().invoke(app, [*argv[:-1], "32M", "--yes"])
    assert done.exit_code == 1 and "--size 32M is smaller than the image (64M)" in done.output and not disk.exists()
    done = CliRunner().invoke(app, [*argv, "--yes"])
    assert done.exit_code == 0, done.output
    assert "matches the manifest" in done.output

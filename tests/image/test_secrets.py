"""No secret, key or per-host identity in the golden image, checked without mounting it.

The root partition is cut out of february.raw at the offset sfdisk reports,
read with debugfs, and its allocated bytes are scanned (deleted files
included: free space is not zeroed) for the build's private key and for the
canary secrets that sat where the settings point during the bake, and the
lab's own secrets, which the settings of the lab's site (group vm) name.
"""

from __future__ import annotations

import base64
import struct
import subprocess
from pathlib import Path

import pytest

from february.vm.config import DEFAULT
from tests.image.conftest import Baked
from tests.image.diskscan import Ext4Image, extract_and_scan, partitions

# Text the bake certainly placed: proves the scan reads the right bytes.
POSITIVE_CONTROL = b"smtpd_tls_auth_only = yes"


def _body(key: Path) -> list[bytes]:
    return [line for line in key.read_bytes().splitlines() if line and not line.startswith(b"-----")]


def private_key_lines(key: Path, reference: Path) -> list[bytes]:
    """The base64 lines of an OpenSSH private key that are its own.

    The first line of every unencrypted ed25519 key is the same format
    header, so lines shared with an unrelated ``reference`` key are left
    out (they would match any ed25519 key on the disk).
    """
    common = set(_body(reference))
    return [line for line in _body(key) if len(line) >= 40 and line not in common]


def private_key_seed(key: Path) -> bytes:
    """The raw 32-byte ed25519 seed inside an unencrypted OpenSSH private key."""
    blob = base64.b64decode(b"".join(_body(key)))
    assert blob.startswith(b"openssh-key-v1\0")
    pos = len(b"openssh-key-v1\0")

    def string() -> bytes:
        nonlocal pos
        (length,) = struct.unpack(">I", blob[pos : pos + 4])
        pos += 4 + length
        return blob[pos - length : pos]

    cipher, _kdf, _kdf_options = string(), string(), string()
    assert cipher == b"none"
    pos += 4  # number of keys
    string()  # public key
    private = string()
    pos = 8  # two check integers
    blob = private
    assert string() == b"ssh-ed25519"
    string()  # public key
    return string()[:32]


@pytest.fixture(scope="module")
def scanned(baked: Baked, tmp_path_factory: pytest.TempPathFactory) -> tuple[Ext4Image, dict[str, int]]:
    parts = partitions(baked.raw)
    assert set(parts) == {"ESP", "root"}, parts
    root = tmp_path_factory.mktemp("scan") / "root.ext4"
    needles = {"positive control": POSITIVE_CONTROL}
    reference = tmp_path_factory.mktemp("reference") / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(reference)], check=True)
    for number, line in enumerate(private_key_lines(baked.build_key, reference)):
        needles[f"build private key, base64 line {number + 1}"] = line
    needles["build private key, raw seed"] = private_key_seed(baked.build_key)
    for name, value in baked.canaries.items():
        needles[f"canary {name}"] = value.encode()
    # The image is baked for the lab's site (group vm), whose settings name the lab's own secret
    # files: the bake reads none of them, and none may be in the image.
    for path in sorted(DEFAULT.secrets.iterdir()):
        if path.is_file() and path.suffix != ".pub" and len(path.read_bytes().strip()) >= 16:
            needles[f"lab secret {path.name}"] = path.read_bytes().strip()
    counts = extract_and_scan(baked.raw, parts["root"], root, needles)
    return Ext4Image(root), counts


def test_the_scan_reads_the_root_filesystem(scanned: tuple[Ext4Image, dict[str, int]]) -> None:
    image, counts = scanned
    assert counts["positive control"] >= 1
    assert image.exists("/etc/postfix/main.cf")


def test_no_secret_bytes_anywhere_in_the_root_partition(baked: Baked, scanned: tuple[Ext4Image, dict[str, int]]) -> None:
    _, counts = scanned
    assert len([name for name in counts if name.startswith("build private key")]) >= 4
    assert {"canary relay password", "canary mailbox hash"} <= set(counts)
    assert {"lab secret smarthost.password", "lab secret restic.password"} <= set(counts)
    leaked = {name: count for name, count in counts.items() if count and name != "positive control"}
    assert leaked == {}


def test_no_ssh_host_keys(scanned: tuple[Ext4Image, dict[str, int]]) -> None:
    image, _ = scanned
    entries = image.listdir("/etc/ssh")
    assert "sshd_config" in entries
    assert [name for name in entries if name.startswith("ssh_host_")] == []


def test_machine_id_is_empty(scanned: tuple[Ext4Image, dict[str, int]]) -> None:
    image, _ = scanned
    assert image.read("/etc/machine-id") == b""


def test_no_build_key_is_authorised(scanned: tuple[Ext4Image, dict[str, int]]) -> None:
    image, _ = scanned
    if image.exists("/root/.ssh/authorized_keys"):
        assert image.read("/root/.ssh/authorized_keys").strip() == b""
    for user in image.listdir("/home"):
        path = f"/home/{user}/.ssh/authorized_keys"
        if image.exists(path):
            assert image.read(path).strip() == b"", path


def test_no_tls_or_dkim_keys(scanned: tuple[Ext4Image, dict[str, int]]) -> None:
    image, _ = scanned
    assert image.exists("/etc/ssl/mail") and image.exists("/var/lib/rspamd/dkim")
    assert image.listdir("/etc/ssl/mail") == {}
    assert image.listdir("/var/lib/rspamd/dkim") == {}
    assert not image.exists("/etc/ssl/private/ssl-cert-snakeoil.key")


def test_no_mailbox_hashes_file(scanned: tuple[Ext4Image, dict[str, int]]) -> None:
    """The mailboxes' password hashes are the host phase's: an image has no user list at all."""
    image, _ = scanned
    assert not image.exists("/etc/dovecot/users")


def test_no_relay_password_file(scanned: tuple[Ext4Image, dict[str, int]]) -> None:
    image, _ = scanned
    assert not image.exists("/etc/postfix/sasl_passwd")
    assert not image.exists("/etc/postfix/sasl_passwd.db")


def test_no_per_build_state(scanned: tuple[Ext4Image, dict[str, int]]) -> None:
    image, _ = scanned
    assert image.listdir("/var/lib/cloud") == {}
    assert image.listdir("/var/log/journal") == {}
    assert image.listdir("/var/lib/apt/lists") == {}
    assert not image.exists("/var/lib/february")
    assert image.read("/etc/hostname").strip() == b"localhost"

"""A host's first-boot identity as a NoCloud seed: host name, admin user, SSH key.

A flashed disk (``images/flash.py``), a USB stick (``february image
seed``) or the local VM's second disk (``february/vm/seed.py``) carries a
vfat volume labelled CIDATA with ``user-data`` and ``meta-data``;
cloud-init's NoCloud datasource reads it from any attached disk, on the
golden image and on the stock Ubuntu cloud image alike.

The values come from an inventory a person edits, so they are validated
here (each error names its host-data key) and rendered as JSON, which is
YAML: no value is ever pasted into YAML text, so a hostile comment in a key
cannot add cloud-config of its own.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from images.disk import make_vfat
from pyinfra_deploys.settings.inventory import InventoryHost
from pyinfra_deploys.settings.types import check_domain

SEED_LABEL = "CIDATA"

_KEY_TYPES = r"ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521"
# One line: type, base64 blob, optional comment (printable, no line breaks).
_KEY_RE = re.compile(rf"(?P<type>{_KEY_TYPES}) (?P<blob>[A-Za-z0-9+/]+={{0,2}})(?: [\x20-\x7e]*)?")
# useradd's portable name rule (and what cloud-init passes to it).
_USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


def check_ssh_public_key(text: str, key: str = "february_admin_ssh_key") -> str:
    """The key as one line ``TYPE BASE64 [comment]``, or ValueError naming ``key``.

    The blob must decode and name the same type as the line does: a private
    key, a truncated paste or two keys glued together are refused here
    rather than locking the owner out at first boot.
    """
    line = text.strip()
    match = _KEY_RE.fullmatch(line)
    if not match:
        raise ValueError(
            f"{key}: not one SSH public key line 'ssh-ed25519|ssh-rsa|ecdsa-sha2-* BASE64 [comment]' ({line[:40]!r}...)"
        )
    try:
        fields = _ssh_fields(base64.b64decode(match["blob"], validate=True))
        inner = fields[0].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError, IndexError, ValueError):
        inner, fields = "", []
    if inner != match["type"] or (inner == "ssh-ed25519" and [len(f) for f in fields] != [11, 32]):
        raise ValueError(f"{key}: the key's base64 blob is not a whole {match['type']} public key")
    return line


def _ssh_fields(blob: bytes) -> list[bytes]:
    """The length-prefixed fields of an SSH public key blob; ValueError unless they fill it exactly (no truncation)."""
    fields: list[bytes] = []
    offset = 0
    while offset < len(blob):
        (length,) = struct.unpack(">I", blob[offset : offset + 4])
        field = blob[offset + 4 : offset + 4 + length]
        if len(field) != length:
            raise ValueError("truncated")
        fields.append(field)
        offset += 4 + length
    return fields


def check_user_name(name: str, key: str = "ssh_user") -> str:
    if not _USER_RE.fullmatch(name):
        raise ValueError(f"{key}: {name!r} is not a user name (lower-case letters, digits, _ and -, at most 32)")
    return name


@dataclass(frozen=True)
class HostIdentity:
    """Who a freshly flashed host is: enough to reach it over SSH and converge it."""

    hostname: str  # FQDN, the settings' `hostname`
    admin_user: str  # host data `ssh_user`: gets the key and sudo without password
    ssh_public_key: str  # host data `february_admin_ssh_key`: one public key line

    def __post_init__(self) -> None:
        try:
            hostname = check_domain(self.hostname)
        except ValueError as error:
            raise ValueError(f"hostname: {error}") from None
        object.__setattr__(self, "hostname", hostname)
        check_user_name(self.admin_user)
        object.__setattr__(self, "ssh_public_key", check_ssh_public_key(self.ssh_public_key))

    @property
    def short_name(self) -> str:
        return self.hostname.split(".")[0]


def cloud_config(data: dict[str, Any]) -> str:
    """A #cloud-config document from plain data (JSON is YAML; nothing is templated)."""
    return "#cloud-config\n" + json.dumps(data, indent=2, sort_keys=False) + "\n"


def user_data(identity: HostIdentity, overrides: dict[str, Any] | None = None) -> str:
    """First-boot cloud-config: host name, the admin user (key, sudo), root grown to the disk.

    ``overrides`` replace or add top-level keys (the local VM's seed turns
    growing off and writes its resolv.conf).
    """
    config: dict[str, Any] = {
        "hostname": identity.short_name,
        "fqdn": identity.hostname,
        "prefer_fqdn_over_hostname": True,
        "manage_etc_hosts": True,
        # C.UTF-8 is built into glibc; other locales would need generating first.
        "locale": "C.UTF-8",
        "ssh_pwauth": False,
        "ssh_deletekeys": True,
        "ssh_genkeytypes": ["ed25519", "ecdsa", "rsa"],
        # The disk is usually larger than the image: grow the root partition
        # and its filesystem at first boot (the seed partition sits before
        # the ESP, so it is not in the way; see images/flash.py).
        "growpart": {"mode": "auto", "devices": ["/"]},
        "resize_rootfs": True,
    }
    if identity.admin_user == "root":
        config |= {"disable_root": False, "users": [], "ssh_authorized_keys": [identity.ssh_public_key]}
    else:
        config |= {
            "disable_root": True,
            "users": [
                {
                    "name": identity.admin_user,
                    "shell": "/bin/bash",
                    "lock_passwd": True,
                    "sudo": "ALL=(ALL) NOPASSWD:ALL",
                    "ssh_authorized_keys": [identity.ssh_public_key],
                }
            ],
        }
    return cloud_config(config | (overrides or {}))


def meta_data(hostname: str, instance_id: str | None = None) -> str:
    """NoCloud meta-data; a new instance-id (so cloud-init runs its first boot) unless given."""
    return json.dumps({"instance-id": instance_id or f"february-{uuid.uuid4()}", "local-hostname": hostname.split(".")[0]}) + "\n"


def write_seed_vfat(
    path: Path,
    identity: HostIdentity,
    size_kib: int = 1024,
    instance_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> Path:
    """A vfat image labelled CIDATA holding the identity's user-data (``overrides``: see ``user_data``) and meta-data.

    The one seed writer: the flash's seed partition, ``february image seed``
    and the local VM's seed disk.
    """
    with tempfile.TemporaryDirectory(prefix="february-seed-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "user-data").write_text(user_data(identity, overrides))
        (tmp / "meta-data").write_text(meta_data(identity.hostname, instance_id))
        make_vfat(path, size_kib, SEED_LABEL, {"user-data": tmp / "user-data", "meta-data": tmp / "meta-data"}, fat_bits=12)
    return path


def read_public_key(value: str, base: Path | None = None) -> str:
    """``february_admin_ssh_key``: the key line itself, or the path of a .pub file (~ and relative paths allowed)."""
    text = value.strip()
    if not _KEY_RE.match(text):
        from pyinfra_deploys.settings.load import settings_base_dir

        path = Path(text).expanduser()
        path = path if path.is_absolute() else (base or settings_base_dir()) / path
        try:
            text = path.read_text()
        except OSError as error:
            raise ValueError(f"february_admin_ssh_key: cannot read {path}: {error.strerror}") from None
    return check_ssh_public_key(text)


def identity_of(host: InventoryHost) -> HostIdentity:
    """The first-boot identity of an inventory host (``pyinfra_deploys.settings.inventory``).

    Host data (group data included): ``ssh_user`` (default ubuntu, the cloud
    image's user), ``february_admin_ssh_key``, and the validated settings'
    ``hostname``. Secret files are not read: flashing needs none.
    """
    key = host.data.get("february_admin_ssh_key")
    if not key:
        raise ValueError(f"{host.inventory}: host {host.name!r} has no february_admin_ssh_key (a public key line or a .pub path)")
    return HostIdentity(
        hostname=host.settings.hostname,
        admin_user=str(host.data.get("ssh_user") or "ubuntu"),
        ssh_public_key=read_public_key(str(key)),
    )

"""The Debian 12 stand-in base: an OS root with the deploy's packages, built natively.

Installing the mail stack inside a TCG-emulated VM takes 5-14 minutes of
emulated dpkg; ``mmdebstrap`` does the same natively in about a minute. The
package list comes from ``pyinfra_deploys.packages`` so that the deploy stays
the one source of truth; the converge then finds the packages present and only
places configuration.

The root is generic: ``generalize.sh`` (the same procedure that ends the
bake, given the root directory) leaves no SSH host keys, an empty
machine-id, no snakeoil key and ``localhost`` as the host name. Identity
arrives at first boot through cloud-init (NoCloud).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from images.stream import run_streamed
from pyinfra_deploys.digest import files_matching, hash_files
from pyinfra_deploys.packages import deploy_packages

HERE = Path(__file__).resolve().parent
ROOTFS_OVERLAY = HERE / "rootfs"
GENERALIZE = HERE / "generalize.sh"

SUITE = "bookworm"
MIRRORS: tuple[str, ...] = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)

# What the OS itself needs, beside the deploy's packages. The generic kernel
# (not linux-image-cloud-amd64) carries e1000e, igb, igc, r8169, AHCI and xHCI,
# so the same image boots on February-class hardware.
OS_PACKAGES: tuple[str, ...] = (
    "linux-image-amd64",
    "systemd-sysv",
    "udev",
    "dbus",
    "openssh-server",
    "cloud-init",
    "e2fsprogs",
    # growpart: cloud-init grows / to a larger disk than the image at first boot.
    "cloud-guest-utils",
    "locales",
    "netbase",
    "iproute2",
    "sudo",
    "procps",
)

# Postfix must not ask questions; the deploy's base role preseeds the real
# answers ("Internet Site", the mailname) on the host itself.
DEBCONF = "postfix postfix/main_mailer_type select No configuration"

# Installed by the package layer, enabled by the deploy's roles.
DEFERRED_SERVICES: tuple[str, ...] = ("postfix", "dovecot", "rspamd", "redis-server", "e2scrub_reap")


@dataclass(frozen=True)
class BaseLayer:
    """The inputs of one base layer; equal inputs give an equal cache key."""

    suite: str = SUITE
    mirrors: tuple[str, ...] = MIRRORS
    packages: tuple[str, ...] = field(default_factory=lambda: tuple(sorted({*OS_PACKAGES, *deploy_packages()})))

    def cache_key(self) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps([self.suite, self.mirrors, self.packages, DEBCONF, DEFERRED_SERVICES]).encode())
        hash_files(files_matching(ROOTFS_OVERLAY, ["**/*"]), ROOTFS_OVERLAY, digest)
        hash_files([HERE / "base_layer.py", HERE / "disk.py", GENERALIZE], HERE, digest)
        return digest.hexdigest()


def build_root(layer: BaseLayer, root: Path, on_line: Callable[[str], None] | None = None) -> None:
    """mmdebstrap the layer into the directory ``root`` (which must not exist)."""
    argv: list[str | Path] = [
        "mmdebstrap",
        "--variant=apt",
        "--mode=root",
        "--format=directory",
        f"--include={','.join(layer.packages)}",
        f"--essential-hook=echo '{DEBCONF}' | chroot \"$1\" debconf-set-selections",
        f'--customize-hook=cp -a {ROOTFS_OVERLAY}/. "$1"/',
        '--customize-hook=chroot "$1" systemctl enable systemd-networkd',
        # The mail services start once the converge has configured them.
        f'--customize-hook=chroot "$1" systemctl disable {" ".join(DEFERRED_SERVICES)}',
        # Run on this machine with the root as its argument: only paths under it change.
        f'--customize-hook=sh {shlex.quote(str(GENERALIZE))} "$1"',
        layer.suite,
        root,
        *layer.mirrors,
    ]
    run_streamed(argv, on_line=on_line)


def installed_versions(root: Path) -> dict[str, str]:
    """Package name to version, read from the root's dpkg status (no chroot)."""
    versions: dict[str, str] = {}
    name = ""
    status = ""
    for line in (root / "var/lib/dpkg/status").read_text().splitlines():
        if line.startswith("Package: "):
            name = line.split(": ", 1)[1]
        elif line.startswith("Status: "):
            status = line.split(": ", 1)[1]
        elif line.startswith("Version: ") and status.endswith(" installed"):
            versions[name] = line.split(": ", 1)[1]
    return versions

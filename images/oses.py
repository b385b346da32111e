"""The operating systems a February image is built from: one declaration each.

Adding an OS is data: a new ``OsRelease`` below (its suite, the archive and
its pinned signing key, the kernel, the packages the OS itself needs, its
Packer variables file). The base layer (``images/base_layer.py``), the bake
(``images/pipeline.py``), the local VM and the tests read it from here. What
differs between releases at run time (a service's version, whether a file
exists) is read on the host as a fact by the deploy, never keyed on a name.

Debian 12, the stand-in while Ubuntu's archive could not be reached, is no
longer built: keeping it honest needs a booted Debian VM in CI, which does
not fit the 25-minute budget beside the Ubuntu suite (docs/image.md, "Operating
systems").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyinfra_deploys import layout

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class OsRelease:
    """One buildable OS release."""

    name: str  # the CLI's and Packer's name for it
    title: str
    suite: str
    # One apt source line per pocket, with its components.
    mirrors: tuple[str, ...]
    # The archive's signing key, kept in the repository, and its pinned fingerprint:
    # images/base_layer.py refuses a key file that holds anything else.
    keyring: Path
    key_fingerprint: str
    # The kernel, and a kernel-ABI package resolved once the kernel is in the
    # root ("{abi}" is the folder under /lib/modules).
    kernel: tuple[str, ...]
    kernel_abi_packages: tuple[str, ...]
    # What the OS itself needs beside the deploy's packages.
    packages: tuple[str, ...]
    # Services a package enables that the deploy's roles enable when configured.
    deferred_services: tuple[str, ...]
    # Services a package enables that a February host does without.
    disabled_services: tuple[str, ...]
    # images/packer/<pkrvars>.pkrvars.hcl: the bake of the native base; <cloud_pkrvars>: the
    # distribution's own cloud image, where its download site is reachable.
    pkrvars: str
    cloud_pkrvars: str | None = None


UBUNTU_2404 = OsRelease(
    name="ubuntu2404",
    title="Ubuntu 24.04 LTS (noble)",
    suite="noble",
    mirrors=(
        "deb http://archive.ubuntu.com/ubuntu noble main universe",
        "deb http://archive.ubuntu.com/ubuntu noble-updates main universe",
        "deb http://security.ubuntu.com/ubuntu noble-security main universe",
    ),
    # From ubuntu-keyring 2023.11.28.1 (noble main): "Ubuntu Archive Automatic Signing Key (2018)".
    keyring=HERE / "os" / "ubuntu-archive-2018.gpg",
    key_fingerprint="F6ECB3762474EDA9D21B7022871920D1991BC93C",
    # linux-image-virtual is the generic kernel with linux-modules only: e1000e,
    # igb, nvme, ahci and xhci are there, but igc and r8169 (February-class NICs)
    # are in linux-modules-extra. linux-image-generic would add them and also the
    # whole linux-firmware set (about 600 MB); the Realtek firmware (r8169) and the
    # CPU microcode are what this hardware needs of it.
    kernel=("linux-image-virtual", "initramfs-tools", "linux-firmware-realtek", "intel-microcode", "amd64-microcode"),
    kernel_abi_packages=("linux-modules-extra-{abi}",),
    packages=(
        "systemd-sysv",
        "systemd-resolved",
        "udev",
        "dbus",
        "openssh-server",
        "cloud-init",
        "netplan.io",
        "e2fsprogs",
        # growpart: cloud-init grows / to a larger disk than the image at first boot.
        "cloud-guest-utils",
        "locales",
        "netbase",
        "iproute2",
        "sudo",
        "procps",
        "ubuntu-keyring",
    ),
    deferred_services=(*layout.MAIL_SERVICES, layout.REDIS_SERVICE, "e2scrub_reap"),
    # ssl-cert makes a snakeoil key pair at every boot that lacks one (14.6 s of
    # an emulated first boot); the tls role makes the host's own certificate.
    disabled_services=("ssl-cert",),
    pkrvars="ubuntu2404",
    cloud_pkrvars="ubuntu2404-cloud",
)

RELEASES: dict[str, OsRelease] = {release.name: release for release in (UBUNTU_2404,)}
DEFAULT = UBUNTU_2404


def release(name: str) -> OsRelease:
    """The declaration named ``name``; a ValueError lists the known ones."""
    try:
        return RELEASES[name]
    except KeyError:
        raise ValueError(f"unknown OS {name!r}; known: {', '.join(RELEASES)}") from None

"""The base layer: an OS root with the deploy's packages, built natively.

Installing the mail stack inside a TCG-emulated VM takes 5-14 minutes of
emulated dpkg; ``mmdebstrap`` does the same natively in a few minutes. The
OS comes from its declaration (``images/oses.py``: suite, pockets, pinned
archive key, kernel); the package list from ``pyinfra_deploys.packages``, so
the deploy stays the one source of truth and the converge finds the packages
present and only places configuration.

The archive is verified: mmdebstrap (apt) checks every index against the
key file kept in the repository, and that file is checked first to hold
exactly the one key whose fingerprint the declaration pins.

The root is generic: ``generalize.sh`` (the same procedure that ends the
bake, given the root directory) leaves no SSH host keys, an empty
machine-id, no snakeoil key and ``localhost`` as the host name. Identity
arrives at first boot through cloud-init (NoCloud).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from images.disk import DEFAULT_EPOCH
from images.generalize import GENERALIZE, generalize_env, generalize_hook
from images.oses import DEFAULT, OsRelease
from images.stream import CommandFailed, run_streamed
from pyinfra_deploys.digest import files_matching, hash_files
from pyinfra_deploys.layout import APT_LISTS
from pyinfra_deploys.packages import deploy_packages

HERE = Path(__file__).resolve().parent
ROOTFS_OVERLAY = HERE / "rootfs"

# Postfix must not ask questions; the deploy's base role preseeds the real
# answers ("Internet Site", the mailname) on the host itself.
DEBCONF = "postfix postfix/main_mailer_type select No configuration"


class KeyringError(RuntimeError):
    """The archive key file is not the pinned key."""


def check_keyring(release: OsRelease) -> None:
    """The key file must hold exactly one key, the one whose fingerprint ``release`` pins."""
    with tempfile.TemporaryDirectory(prefix="february-gpg-") as home:  # no keyring of this machine's user
        done = subprocess.run(
            ["gpg", "--batch", "--show-keys", "--with-colons", str(release.keyring)],
            capture_output=True,
            text=True,
            check=False,
            env={"GNUPGHOME": home, "PATH": "/usr/bin:/bin"},
        )
    fingerprints = [line.split(":")[9] for line in done.stdout.splitlines() if line.startswith("fpr:")]
    primaries = [line for line in done.stdout.splitlines() if line.startswith("pub:")]
    if done.returncode != 0 or len(primaries) != 1 or not fingerprints or fingerprints[0] != release.key_fingerprint:
        found = ", ".join(fingerprints) or done.stderr.strip() or "no key"
        raise KeyringError(
            f"{release.keyring}: expected exactly the {release.title} archive key {release.key_fingerprint}, found {found}"
        )


@dataclass(frozen=True)
class BaseLayer:
    """The inputs of one base layer; equal inputs give an equal cache key."""

    release: OsRelease = DEFAULT
    packages: tuple[str, ...] = field(default_factory=lambda: tuple(sorted({*DEFAULT.packages, *deploy_packages()})))
    # Exact builds to install instead of today's (apt_pins of an earlier manifest): all of them or none.
    pinned: tuple[str, ...] = ()

    @classmethod
    def of(cls, release: OsRelease, pinned: tuple[str, ...] = ()) -> BaseLayer:
        """The layer of ``release`` with the OS's and the deploy's packages (``pinned``: at exactly those versions)."""
        return cls(release=release, packages=tuple(sorted({*release.packages, *deploy_packages()})), pinned=pinned)

    def cache_key(self) -> str:
        r = self.release
        digest = hashlib.sha256()
        # The whole declaration (the key file by its content, below), the packages, the debconf answer and
        # the paths generalize.sh is given (from pyinfra_deploys/layout.py).
        declaration = {**dataclasses.asdict(r), "keyring": r.keyring.name}
        inputs: list[Any] = [declaration, self.packages, DEBCONF, generalize_env()]
        if self.pinned:
            inputs.append(sorted(self.pinned))
        digest.update(json.dumps(inputs, sort_keys=True).encode())
        hash_files(files_matching(ROOTFS_OVERLAY, ["**/*"]), ROOTFS_OVERLAY, digest)
        hash_files([HERE / "base_layer.py", HERE / "disk.py", GENERALIZE, r.keyring], HERE, digest)
        return digest.hexdigest()


def _mmdebstrap(release: OsRelease, variant: str, packages: list[str]) -> list[str | Path]:
    """mmdebstrap's arguments for a root of ``release`` with ``packages``, verified against the pinned key (checked first)."""
    check_keyring(release)
    return [
        "mmdebstrap",
        f"--variant={variant}",
        "--mode=root",
        "--format=directory",
        f"--keyring={release.keyring}",
        f"--include={','.join(sorted(set(packages)))}",
    ]


def build_root(layer: BaseLayer, root: Path, on_line: Callable[[str], None] | None = None, releases: Path | None = None) -> None:
    """mmdebstrap the layer into the directory ``root`` (which must not exist).

    ``releases``: a folder that receives the archive's InRelease files the
    packages came from (for the manifest), before the apt lists are cleaned.
    """
    r = layer.release
    keep_releases = (
        [f'--customize-hook=mkdir -p {releases} && cp "$1"{APT_LISTS}/*InRelease {releases}/'] if releases is not None else []
    )
    abi_packages = " ".join(name.replace("{abi}", '"$abi"') for name in r.kernel_abi_packages)
    # Pinned: every package of the earlier build at its version (what it depended on included),
    # so apt resolves nothing anew; today's versions otherwise.
    included = list(layer.pinned) if layer.pinned else [*layer.packages, *r.kernel]
    argv: list[str | Path] = [
        *_mmdebstrap(r, "apt", included),
        f"--essential-hook=echo '{DEBCONF}' | chroot \"$1\" debconf-set-selections",
        # Packages named after the kernel's ABI (its folder under /lib/modules), with the same apt.
        *(
            [
                '--customize-hook=abi=$(ls "$1/lib/modules") && '
                f'chroot "$1" apt-get install --yes --no-install-recommends {abi_packages}'
            ]
            if abi_packages
            else []
        ),
        *keep_releases,
        f'--customize-hook=cp -a {ROOTFS_OVERLAY}/. "$1"/',
        '--customize-hook=chroot "$1" systemctl enable systemd-networkd',
        # The mail services start once the converge has configured them; some never.
        f'--customize-hook=chroot "$1" systemctl disable {" ".join((*r.deferred_services, *r.disabled_services))}',
        # Run on this machine with the root as its argument: only paths under it change.
        f"--customize-hook={generalize_hook()}",
        r.suite,
        root,
        *r.mirrors,
    ]
    try:
        # mmdebstrap's own knob: with it, the same options and mirror content give the same tree
        # (without it, the initrd's cpio carried the build's clock: the one path of 29,493 that differed).
        run_streamed(argv, on_line=on_line, env={**os.environ, "SOURCE_DATE_EPOCH": str(DEFAULT_EPOCH)})
    except CommandFailed as error:
        gone = VERSION_GONE.findall(str(error))
        if layer.pinned and gone:
            named = ", ".join(f"{name} {version}" for version, name in gone)
            raise PinnedVersionGone(
                f"the archive no longer offers {named}, as the manifest pins; a pinned build needs every version it "
                "names (Ubuntu's archive keeps only the newest of each pocket). Build without --pinned for today's."
            ) from None
        raise


class PinnedVersionGone(RuntimeError):
    """A pinned build names a package version the archive no longer offers."""


# apt's words for a pinned version it cannot find: E: Version '3.8.6-1ubuntu0.1' for 'postfix' was not found
VERSION_GONE = re.compile(r"Version '([^']+)' for '([^']+)' was not found")


def extract_root(release: OsRelease, packages: list[str], root: Path, on_line: Callable[[str], None] | None = None) -> None:
    """Unpack ``packages`` of ``release`` and what they depend on into ``root``, configuring nothing (mmdebstrap's
    extract variant, some 7 s): enough to run one of their programs natively in a chroot."""
    run_streamed([*_mmdebstrap(release, "extract", packages), release.suite, root, *release.mirrors], on_line=on_line)


def archive_releases(folder: Path) -> list[dict[str, str]]:
    """Each InRelease file in ``folder``: the archive's origin, suite and date, and the file's sha256 (what pinned the packages)."""
    found = []
    for path in sorted(folder.glob("*InRelease")):
        text = path.read_bytes()
        fields = {}
        for line in text.decode(errors="replace").splitlines():
            key, sep, value = line.partition(": ")
            if sep and key in ("Origin", "Suite", "Codename", "Date"):
                fields[key.lower()] = value.strip()
            if not line.strip() and fields:
                break  # the signed header ends at the first blank line after the fields
        found.append({"file": path.name, **fields, "sha256": hashlib.sha256(text).hexdigest()})
    return found


def installed_packages(root: Path) -> list[tuple[str, str, str]]:
    """(name, architecture, version) of each installed package, sorted, from the root's dpkg status (no chroot)."""
    found: list[tuple[str, str, str]] = []
    for stanza in (root / "var/lib/dpkg/status").read_text().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line.startswith(" "))
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            found.append((fields["Package"], fields.get("Architecture", ""), fields.get("Version", "")))
    return sorted(found)


def versions(packages: list[tuple[str, str, str]]) -> dict[str, str]:
    """Package name to version, for the manifest's ``installed_versions``."""
    return {name: version for name, _, version in packages}


def pins(packages: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    """Each installed package, for the manifest: name, architecture and version."""
    return [{"name": name, "architecture": arch, "version": version} for name, arch, version in sorted(packages)]


def apt_pins(pinned: list[dict[str, str]]) -> list[str]:
    """The manifest's packages as apt installs exactly those builds: ``name:arch=version`` (``name=version`` for
    an architecture-independent one, which apt files under the native architecture)."""
    found: list[str] = []
    for p in pinned:
        name, arch, version = p.get("name", ""), p.get("architecture", ""), p.get("version", "")
        if not (PACKAGE_NAME.fullmatch(name) and ARCHITECTURE.fullmatch(arch) and VERSION.fullmatch(version)):
            raise ValueError(f"not a package pin: {p!r} (a Debian package name, architecture and version)")
        found.append(f"{name}={version}" if arch == "all" else f"{name}:{arch}={version}")
    return found


# Debian policy's spellings (5.6.1, 5.6.12): what a pin may hold, so a manifest adds nothing else to apt's arguments.
PACKAGE_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")
ARCHITECTURE = re.compile(r"[a-z0-9][a-z0-9-]*")
VERSION = re.compile(r"(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*")

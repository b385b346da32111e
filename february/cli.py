"""The february command: the common flows around the deploy.

    february vm            build, boot and converge the local February VM
    february vm stop|ssh|status
    february image build   bake the golden image with Packer
    february image flash   write it onto a disk, verified, with the host's first-boot identity
    february image seed    the same identity as a small CIDATA image (USB stick)
    february deploy INV    converge an inventory (pyinfra INV deploy.py)
    february check INV     validate an inventory's settings, offline
    february dns           print the DNS records for the VM (or --ssh host)
    february backup FILE   save the VM's state (mail, DKIM and TLS keys)
    february rebuild       a fresh VM from an image + inventory + secrets + state
    february hash-password make a password hash for a mailbox
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path

import typer

from february.paths import REPO

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
vm_app = typer.Typer(help="The local February VM (Debian 12 stand-in for Ubuntu 24.04, under QEMU).")
image_app = typer.Typer(help="The golden image.")
app.add_typer(vm_app, name="vm")
app.add_typer(image_app, name="image")

INVENTORY_GROUPS = {"inventory/hosts.py": ("all",), "inventory/vm.py": ("all", "vm")}


@vm_app.callback(invoke_without_command=True)
def vm(ctx: typer.Context) -> None:
    """Build the base image (cached), boot the VM, converge it, print how to reach it."""
    if ctx.invoked_subcommand is None:
        from february.vm.lifecycle import up

        os.chdir(REPO)
        up()


@vm_app.command("stop")
def vm_stop() -> None:
    """Stop the VM and its fake outside world."""
    from february.vm.lifecycle import stop

    stop()


@vm_app.command("ssh")
def vm_ssh(command: list[str] = typer.Argument(None)) -> None:
    """Open a root shell in the VM (or run COMMAND there)."""
    from february.vm.config import DEFAULT
    from february.vm.qemu import ssh_argv

    argv = ssh_argv(DEFAULT)
    if not command:
        argv.insert(1, "-t")
    os.execvp("ssh", argv + list(command or []))


@vm_app.command("status")
def vm_status() -> None:
    """Say whether the VM runs."""
    from february.vm.config import DEFAULT
    from february.vm.qemu import running_pid

    pid = running_pid(DEFAULT)
    typer.echo(f"running (pid {pid})" if pid else "not running")
    raise typer.Exit(0 if pid else 1)


@app.command()
def check(inventory: str = typer.Argument("inventory/hosts.py")) -> None:
    """Validate an inventory's settings without connecting anywhere."""
    from inventory.validate import group_layers
    from pyinfra_deploys.settings import SettingsError, load_settings

    groups = INVENTORY_GROUPS.get(inventory)
    if groups is None:
        raise typer.BadParameter(f"known inventories: {', '.join(INVENTORY_GROUPS)}")
    os.chdir(REPO)
    try:
        settings = load_settings(*group_layers(*groups))
    except SettingsError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{inventory}: settings valid for {settings.hostname} (domains: {', '.join(settings.served_domains)})")


@app.command()
def deploy(inventory: str = typer.Argument("inventory/hosts.py")) -> None:
    """Converge INVENTORY with deploy.py (the same as `pyinfra INVENTORY deploy.py`)."""
    os.chdir(REPO)
    raise typer.Exit(subprocess.call([sys.executable, "-m", "pyinfra", "-y", inventory, "deploy.py"]))


@app.command()
def dns(
    ssh: str = typer.Option(None, help="user@host of a real February host; default: the local VM"),
    address: str = typer.Option(None, help="The public IP the host name points at (prints its A/AAAA record)."),
) -> None:
    """Print the zone lines (A, MX, SPF, DKIM, DMARC) for the served domains."""
    import ipaddress

    from february.dns_records import dkim_txt_value, zone_lines
    from february.vm.config import DEFAULT
    from february.vm.qemu import ssh_argv
    from inventory.validate import group_layers
    from pyinfra_deploys.settings import load_settings

    os.chdir(REPO)
    settings = load_settings(*group_layers(*(("all",) if ssh else ("all", "vm"))), check_files=False)
    argv = ["ssh", ssh] if ssh else ssh_argv(DEFAULT)
    dkim: dict[str, str] = {}
    for domain in settings.served_domains:
        path = f"/var/lib/rspamd/dkim/{domain}.{settings.rspamd.dkim_selector}.txt"
        done = subprocess.run(argv + ["cat", path], capture_output=True, text=True)
        if done.returncode == 0:
            dkim[domain] = dkim_txt_value(done.stdout)
        else:
            typer.echo(f"; no DKIM key on the host for {domain} yet (converge first)", err=True)
    try:
        if address:
            ipaddress.ip_address(address)
        lines = zone_lines(settings, dkim, address)
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    typer.echo("\n".join(lines))


@app.command()
def backup(archive: Path = typer.Argument(..., help="Where to write the state archive (.tar.gz, mode 600).")) -> None:
    """Save the local VM's state (Maildir, DKIM keys, TLS key) for a rebuild."""
    from february.vm.config import DEFAULT
    from february.vm.qemu import ssh_argv
    from february.vm.state import backup as save

    typer.echo(f"state saved to {save(ssh_argv(DEFAULT), archive)}")


@app.command()
def rebuild(
    image: Path = typer.Option(..., help="The golden image (qcow2) or a base image to boot."),
    state: Path = typer.Option(None, help="A state archive from `february backup` to restore."),
) -> None:
    """The same server again: replace the local VM with a fresh one from IMAGE, restore STATE, converge."""
    from february.vm.lifecycle import rebuild as run_rebuild, report

    os.chdir(REPO)
    run_rebuild(image.resolve(), state.resolve() if state else None)
    report()


@app.command("hash-password")
def hash_password() -> None:
    """Read a password (twice) and print its SHA512-CRYPT hash for a hashed_password_file."""
    from february.vm.secrets import hash_password as make_hash

    first = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty() and getpass.getpass("Again: ") != first:
        typer.echo("passwords differ", err=True)
        raise typer.Exit(1)
    typer.echo(make_hash(first))


@image_app.command("build")
def image_build(
    output: Path = typer.Option(Path("build/images"), help="Where each build's folder is written."),
) -> None:
    """Bake the golden image: the same deploy.py, run by Packer, then generalized."""
    from images.pipeline import build

    os.chdir(REPO)
    build(output)


def _parse_size(text: str | None) -> int | None:
    """`8G`, `8192M`, `512K` or bytes (binary units) -> bytes."""
    if text is None:
        return None
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    number, unit = (text[:-1], text[-1].upper()) if text[-1:].upper() in units else (text, "")
    if not number.isdigit():
        raise typer.BadParameter(f"{text!r} is not a size like 8G, 8192M or a number of bytes", param_hint="--size")
    return int(number) * units.get(unit, 1)


def _identity(inventory: Path, host: str):  # -> HostIdentity
    from images.seed import host_identity
    from pyinfra_deploys.settings import SettingsError

    try:
        return host_identity(inventory, host)
    except (ValueError, SettingsError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None


@image_app.command("flash")
def image_flash(
    image: Path = typer.Argument(..., help="The golden raw image: build/images/<hash>/february.raw (manifest.json beside it)."),
    target: Path = typer.Argument(..., help="The whole disk (/dev/sdX, /dev/nvme0n1) or a disk file."),
    inventory: Path = typer.Option(..., help="The inventory that names the host (e.g. inventory/hosts.py)."),
    host: str = typer.Option(..., help="The host in INVENTORY whose identity the disk gets."),
    yes: bool = typer.Option(False, "--yes", help="Overwrite without asking (needed when there is no terminal)."),
    size: str = typer.Option(None, help="Disk FILE only: create it, or grow it, to this size (e.g. 8G). Never shrinks."),
    manifest: Path = typer.Option(None, help="The build's manifest.json (default: beside IMAGE)."),
) -> None:
    """Write IMAGE onto TARGET, verify it, and seed the host's name, admin user and SSH key for its first boot."""
    from images.flash import FlashError, flash

    identity = _identity(inventory, host)
    try:
        report = flash(image, target, identity, manifest=manifest, assume_yes=yes, size=_parse_size(size))
    except FlashError as error:
        typer.echo(f"refused: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"{target}: {report.image_bytes / 2**20:.0f} MiB written at {report.write_mib_per_s:.0f} MiB/s, "
        f"read back at {report.verify_mib_per_s:.0f} MiB/s, sha256 {report.sha256[:16]}… matches the manifest; "
        f"seed for {identity.hostname} ({identity.admin_user}) in partition CIDATA at LBA {report.seed_start_lba}"
    )


@image_app.command("seed")
def image_seed(
    inventory: Path = typer.Option(..., help="The inventory that names the host."),
    host: str = typer.Option(..., help="The host in INVENTORY."),
    out: Path = typer.Option(..., help="Where to write the vfat image (label CIDATA); dd it onto a USB stick."),
) -> None:
    """Write the host's first-boot seed (name, admin user, SSH key) as a small CIDATA vfat image."""
    from images.seed import write_seed_vfat

    identity = _identity(inventory, host)
    write_seed_vfat(out, identity)
    typer.echo(f"{out}: NoCloud seed (CIDATA) for {identity.hostname}, user {identity.admin_user}")

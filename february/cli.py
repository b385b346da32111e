"""The february command: the common flows around the deploy.

    february vm                     build, boot and converge the local February VM
    february vm stop|ssh|status
    february image build            bake the golden image with Packer
    february image flash IMG DISK -i INV --host H   write it onto a disk, verified, with H's first-boot identity
    february image seed -i INV --host H --out F     the same identity as a small CIDATA image (USB stick)
    february init DIR               write a new site: inventory, settings, secrets (asks; or flags for scripts)
    february check -i INV [--host H]   validate a host's settings and secret files, offline
    february deploy -i INV [--host H]  converge it (pyinfra INV deploy.py), back to the last generation if it fails
    february diff -i INV [--host H] what the next converge would change (exit 0 none, 1 changes, 2 error)
    february generations -i INV [--host H] [--json]     its generations (one per converge that changed a file)
    february rollback [N] -i INV [--host H]             back to generation N (default: the one before)
    february dns -i INV [--host H]  the DNS records it needs (A, MX, SPF, DKIM, DMARC)
    february backup now|list|restore -i INV [--host H]   its restic backups
    february status -i INV [--host H] [--json] [--resolver A]   its live health (exit 0 ok, 1 warning, 2 error)
    february hash-password          make a password hash for a mailbox

Every command that talks to a host takes --inventory/--host: the local VM
is the host of inventory/vm.py, a real box one of inventory/hosts.py.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
import typer
from rich.console import Console

from february.paths import REPO
from images import oses
from images.progress import console, stage
from pyinfra_deploys.settings.inventory import InventoryHost

if TYPE_CHECKING:
    from images.seed import HostIdentity

# Results on stdout (to read or pipe); progress and errors on stderr (images.progress.console).
out = Console(highlight=False, soft_wrap=True)
app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
vm_app = typer.Typer(help="The local February VM (Ubuntu 24.04, under QEMU).")
image_app = typer.Typer(help="The golden image.")
backup_app = typer.Typer(help="Restic backups of any inventory host's state.")
app.add_typer(vm_app, name="vm")
app.add_typer(image_app, name="image")
app.add_typer(backup_app, name="backup")


@vm_app.callback(invoke_without_command=True)
def vm(ctx: typer.Context) -> None:
    """Build the base image (cached), boot the VM, converge it, print how to reach it."""
    if ctx.invoked_subcommand is None:
        from february import preflight
        from february.vm.config import DEFAULT
        from february.vm.lifecycle import up
        from february.vm.qemu import running_pid

        preflight.require_tools(*preflight.VM_TOOLS, *preflight.BASE_TOOLS)
        preflight.require_firmware()
        preflight.require_free_space(DEFAULT.dir, 6, "the VM (base image and disk)")
        if running_pid(DEFAULT) is None:
            preflight.require_free_ports({name: port for name, (port, _) in DEFAULT.forwards().items()})
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


DEFAULT_INVENTORY = Path("inventory/hosts.py")
INVENTORY = typer.Option(DEFAULT_INVENTORY, "--inventory", "-i", help="An inventory file (as for pyinfra).")
HOST = typer.Option(None, "--host", help="The inventory host; may be left out when the inventory has one.")


def _host(inventory: Path, host: str | None, check_files: bool = True) -> InventoryHost:
    from pyinfra_deploys.settings.inventory import inventory_host

    return inventory_host(inventory, host, check_files=check_files)


# `february check INV` and `february deploy INV`, the form before -i: kept for a release.
OLD_INVENTORY = typer.Argument(None, hidden=True, show_default=False)


def _inventory(option: Path, positional: Path | None, command: str) -> Path:
    """-i/--inventory as every command takes it; the old positional form still works, with a note."""
    if positional is None:
        return option
    if option not in (DEFAULT_INVENTORY, positional):
        raise typer.BadParameter(f"two inventories given ({positional} and -i {option}): give one, with -i")
    console.print(f"note: `february {command} INVENTORY` is kept for a release; write `february {command} -i {positional}`")
    return positional


@app.command()
def check(inventory: Path = INVENTORY, host: str = HOST, old_inventory: Path | None = OLD_INVENTORY) -> None:
    """Validate an inventory host's settings and read its secret files, without connecting anywhere."""
    inventory = _inventory(inventory, old_inventory, "check")
    found = _host(inventory, host)
    found.secrets()
    settings = found.settings
    typer.echo(
        f"{inventory}:{found.name}: settings valid for {settings.hostname} (domains: {', '.join(settings.served_domains)})"
    )


ALLOW_LOCKOUT = typer.Option(
    False,
    "--allow-lockout",
    help="Apply a firewall that would not let this machine back in over SSH (you reach the host another way).",
)


@app.command()
def deploy(
    inventory: Path = INVENTORY,
    host: str = HOST,
    old_inventory: Path | None = OLD_INVENTORY,
    rollback: bool = typer.Option(
        True, "--rollback/--no-rollback", help="Switch back to the generation before when the converge or the checks fail."
    ),
    allow_lockout: bool = ALLOW_LOCKOUT,
) -> None:
    """Converge an inventory (host) with deploy.py: `pyinfra INVENTORY deploy.py`, settings checked first.

    A firewall that would not let this machine back in over SSH is refused
    before any change. After the converge the host's checks (services,
    ports, milter, relay, a local delivery) must pass, then a new SSH
    connection must confirm the switch within generations.confirm_seconds.
    A failed converge or check is switched back by february; a switch that
    cannot be confirmed is switched back by the host itself. Exit status 0
    when the host keeps the new generation, 2 otherwise.
    """
    from february import converge

    inventory = _inventory(inventory, old_inventory, "deploy")
    found = _host(inventory, host)
    found.secrets()
    raise typer.Exit(converge.deploy(inventory, found, rollback=rollback, allow_lockout=allow_lockout))


@app.command()
def diff(inventory: Path = INVENTORY, host: str = HOST) -> None:
    """What the next converge would change on the live host, changing nothing (exit 0 none, 1 changes, 2 error).

    Unified diffs of the managed files (a secret shows only that it changes), UFW
    rules added and removed, packages, and the services that would restart or reload.
    """
    from february.converge import pyinfra_argv
    from february.diff import parse

    found = _host(inventory, host)
    found.secrets()
    with stage(f"Dry run on {found.name}"):
        done = subprocess.run(pyinfra_argv(inventory, found, dry=True), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        out.print(f"the dry run failed (pyinfra exited {done.returncode})", style="red")
        out.print("\n".join(done.stderr.strip().splitlines()[-15:]), markup=False)
        raise typer.Exit(2)
    plan = parse(done.stdout, done.stderr, found.name)
    for line in plan.diff:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    if not plan.changes:
        out.print(f"{found.name}: no change")
        raise typer.Exit(0)
    out.print(f"\n[bold]{found.name}: {len(plan.changes)} change(s)[/bold]")
    for name in plan.changes:
        out.print(f"  {name}", markup=False)
    if plan.services:
        out.print("[bold]then, for the changed files[/bold]")
        for command in plan.services:
            out.print(f"  {command}", markup=False)
    raise typer.Exit(1)


@app.command("generations")
def generations_list(
    inventory: Path = INVENTORY,
    host: str = HOST,
    as_json: bool = typer.Option(False, "--json", help="Print them as JSON."),
) -> None:
    """The host's generations: one per converge that changed a managed file, and one per rollback."""
    import json

    from rich.table import Table

    from february import generations

    found = _host(inventory, host, check_files=False)
    listed = generations.listing(found)
    if as_json:
        typer.echo(json.dumps(listed, indent=2))
        return
    table = Table(title=f"{found.name}: generations (state is not part of them)")
    for column in ("", "generation", "time", "revision", "files", "reason"):
        table.add_column(column)
    for g in listed:
        rev = g["revision"][:12] + (" (dirty)" if g["dirty"] else "")
        table.add_row(
            "*" if g["current"] else "", str(g["number"]), generations.when(g["time"]), rev, str(g["files"]), g["reason"]
        )
    out.print(table)


@app.command()
def rollback(
    generation: int = typer.Argument(None, help="The generation to go back to; default: the one before the current."),
    inventory: Path = INVENTORY,
    host: str = HOST,
    allow_lockout: bool = ALLOW_LOCKOUT,
) -> None:
    """Put a generation's files back, checked per changed service before any reloads; recorded as a new generation.

    Refused when that generation's firewall would not let this machine back in
    over SSH. After the checks, a new SSH connection must confirm the switch,
    or the host switches back by itself. Exit status 0 when the host keeps that
    generation's files and passes its checks, 2 otherwise.
    """
    from february import converge, generations

    found = _host(inventory, host, check_files=False)
    listed = generations.listing(found)
    target = generation if generation is not None else generations.previous(listed)
    if target is None:
        raise typer.BadParameter(f"{found.name} has no generation before the current one", param_hint="GENERATION")
    raise typer.Exit(converge.rollback(found, target, allow_lockout=allow_lockout))


@app.command()
def dns(
    inventory: Path = INVENTORY,
    host: str = HOST,
    address: str = typer.Option(None, help="The public IPv4 address of the MX host, for its A record."),
) -> None:
    """Print the zone lines (A, MX, SPF, DKIM, DMARC) for the host's served domains."""
    import ipaddress

    from february.dns_records import zone_lines
    from february.remote import dkim_records

    if address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise typer.BadParameter(f"{address!r} is not an IP address", param_hint="--address") from None
    found = _host(inventory, host, check_files=False)
    dkim = dkim_records(found)
    for domain in found.settings.served_domains:
        if domain not in dkim:
            typer.echo(f"; no DKIM key on {found.name} for {domain} yet (converge first)", err=True)
    typer.echo("\n".join(zone_lines(found.settings, dkim, address)))


@backup_app.command("now")
def backup_now(inventory: Path = INVENTORY, host: str = HOST) -> None:
    """Run the host's backup now (the timer's service), and say how it went."""
    from february import backups

    found = _host(inventory, host, check_files=False)
    backups.backup_now(found)
    _print_backups(found)


@backup_app.command("list")
def backup_list(inventory: Path = INVENTORY, host: str = HOST) -> None:
    """The host's snapshots, its last successful backup and its age, and whether the last run failed."""
    _print_backups(_host(inventory, host, check_files=False))


@backup_app.command("restore")
def backup_restore(
    inventory: Path = INVENTORY,
    host: str = HOST,
    snapshot: str = typer.Option("latest", help="A snapshot id from `february backup list`."),
) -> None:
    """Put a snapshot's state back (services stopped meanwhile), then converge the host."""
    from february import backups

    if not backups.SNAPSHOT.fullmatch(snapshot):
        raise typer.BadParameter("a snapshot id (hex) or 'latest'", param_hint="--snapshot")
    backups.restore(inventory, _host(inventory, host), snapshot)


def _print_backups(found: InventoryHost) -> None:
    from rich.table import Table

    from february import backups
    from pyinfra_deploys import layout

    if found.settings.backup is None:
        raise typer.BadParameter(f"{found.name} has no backup settings (february.backup)", param_hint="--host")
    state = backups.state(found)
    table = Table(title=f"{found.name}: {found.settings.backup.repository}")
    for column in ("id", "time", "paths"):
        table.add_column(column)
    for snap in state.snapshots:
        table.add_row(snap["short_id"], snap["time"][:19].replace("T", " "), " ".join(snap["paths"]))
    console.print(table)
    console.print(f"last success: {state.last_success_text()}")
    if not state.reachable:
        console.print(f"[red]the repository cannot be read[/red]: {found.settings.backup.repository}")
    if state.failed:
        console.print(f"[red]the last backup run failed[/red]: journalctl -u {layout.BACKUP_SERVICE}")


@app.command()
def status(
    inventory: Path = INVENTORY,
    host: str = HOST,
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON (section, name, level, message)."),
    resolver: str = typer.Option(
        None, help="Also check the DNS records as this resolver (ADDRESS or ADDRESS:PORT) publishes them, against `february dns`."
    ),
) -> None:
    """Check the live host: services, ports, milter, queue, certificate, disk, backups, reboot, updates (and DNS with --resolver).

    Exit status: 0 when all is ok, 1 with any warning, 2 with any error.
    """
    import json

    from rich.console import Console

    from february import generations
    from february.dns_check import parse_resolver, published_results, resolver_lookup
    from february.remote import RemoteError, dkim_records
    from february.status import fetch, generation_check, render
    from pyinfra_deploys.host import february_status

    if resolver is not None:
        try:
            nameserver = parse_resolver(resolver)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--resolver") from None
    found = _host(inventory, host, check_files=False)
    results = fetch(found)
    try:
        results.append(generation_check(found, generations.listing(found)))
    except RemoteError as error:
        results.append(february_status.result("Generation", "current", february_status.WARNING, str(error)))
    if resolver is not None:
        results += published_results(found.settings, dkim_records(found), resolver_lookup(*nameserver))
    if as_json:
        typer.echo(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        render(results, Console(highlight=False), title=f"{found.name} ({found.settings.hostname})")
    raise typer.Exit(february_status.exit_code(results))


def _secret(prompt: str) -> str:
    """A password: asked twice without echo at a terminal, else one line of standard input (for scripts)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"{prompt}: ")
    if getpass.getpass("Again: ") != first:
        raise typer.BadParameter(f"the two entries for {prompt} differ")
    return first


@app.command()
def init(
    folder: Path = typer.Argument(..., help="A new or empty folder for the site."),
    hostname: str = typer.Option(None, help="The host's name in DNS (its MX), like mail.example.org."),
    domain: str = typer.Option(None, help="The mail domain; default: the host name without its first label."),
    address: str = typer.Option(None, help="How this machine reaches the box over SSH (LAN name or IP); default: --hostname."),
    admin_user: str = typer.Option("ubuntu", help="The admin user with sudo that the deploy logs in as."),
    ssh_key: str = typer.Option("~/.ssh/id_ed25519.pub", help="Your SSH public key (a .pub file or the key line)."),
    mailbox: list[str] = typer.Option(None, help="A mailbox address (repeat for more); its password is asked."),
    lan: list[str] = typer.Option(None, help="A network allowed to reach 587 and 993 (repeat); default: the model's."),
    relay: str = typer.Option(None, help="The smarthost as HOST or HOST:PORT (587 by default); its password is asked."),
    relay_user: str = typer.Option(None, help="The login at the smarthost."),
    relay_spf: str = typer.Option(
        None, help="Who sends for the smarthost, for SPF: its SPF domain (Fastmail: spf.messagingengine.com) or network."
    ),
    backup_repository: str = typer.Option(None, help="A restic repository (a path on the host, or sftp:user@host:/path)."),
) -> None:
    """Write a new site: hosts.py, group_data/all.py and a secrets folder (0700, files 0600); then print the DNS records.

    Passwords are asked without echo (twice); without a terminal each is one
    line of standard input, the mailboxes' in order, then the relay's. A
    folder that holds anything is refused: a site is never overwritten.
    """
    from february import site
    from february.dns_records import zone_lines
    from pyinfra_deploys.settings.errors import SettingsError

    interactive = sys.stdin.isatty()
    if hostname is None:
        if not interactive:
            raise typer.BadParameter("give the host's name", param_hint="--hostname")
        hostname = typer.prompt("Host name in DNS (its MX), like mail.example.org")
    if not mailbox:
        if not interactive:
            raise typer.BadParameter("give at least one mailbox", param_hint="--mailbox")
        mailbox = [typer.prompt("First mailbox address")]
    if relay is not None and (relay_user is None or relay_spf is None):
        raise typer.BadParameter("a smarthost needs --relay, --relay-user and --relay-spf", param_hint="--relay")
    relay_host, _, relay_port = (relay or "").partition(":")
    if relay_port and not relay_port.isdigit():
        raise typer.BadParameter(f"{relay!r}: the port after ':' must be a number", param_hint="--relay")
    passwords = {address_: _secret(f"Password for {address_}") for address_ in mailbox}
    answers = site.Answers(
        hostname=hostname,
        domain=hostname.partition(".")[2] if domain is None else domain,  # an empty one goes to the model, which names it
        address=hostname if address is None else address,
        admin_user=admin_user,
        ssh_public_key=ssh_key,
        mailboxes=passwords,
        submission_networks=tuple(lan or ()),
        relay=site.Relay(relay_host, int(relay_port or 587), relay_user, relay_spf, _secret(f"Password at {relay_host}"))
        if relay
        else None,
        backup_repository=backup_repository,
    )
    try:
        found = site.write_site(folder, answers)
    except (site.SiteError, SettingsError) as error:
        console.print(f"february init: {error}", style="red", markup=False)
        raise typer.Exit(2) from None
    inventory = folder.absolute() / site.INVENTORY_NAME
    out.print(f"wrote {inventory}, {folder.absolute() / site.SETTINGS_NAME} and {folder.absolute() / site.SECRETS_NAME}/")
    out.print("\nDNS records (the DKIM record once the host has its key: february dns -i ...):")
    out.print("\n".join(zone_lines(found.settings, {})), markup=False)
    out.print(
        "\nNext:\n"
        f"  february check -i {inventory}\n"
        f"  february image flash IMAGE DISK -i {inventory}   # a new box's disk, with its name, admin user and key\n"
        f"  february deploy -i {inventory}",
        markup=False,
    )


@app.command("hash-password")
def hash_password() -> None:
    """Read a password (twice) and print its SHA512-CRYPT hash for a hashed_password_file."""
    from february.site import hash_password as make_hash

    first = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if sys.stdin.isatty() and getpass.getpass("Again: ") != first:
        typer.echo("passwords differ", err=True)
        raise typer.Exit(1)
    typer.echo(make_hash(first))


@image_app.command("build")
def image_build(
    output: Path = typer.Option(Path("build/images"), help="Where each build's folder is written."),
    os_name: str = typer.Option(oses.DEFAULT.name, "--os", help=f"The OS release ({', '.join(oses.RELEASES)})."),
    cloud: bool = typer.Option(
        False, help="Start from the release's cloud image (needs its download site) instead of the native base."
    ),
    pinned: Path | None = typer.Option(
        None, help="An earlier build's manifest.json: install exactly its package versions, or fail naming the gone ones."
    ),
) -> None:
    """Bake the golden image: the same deploy.py, run by Packer, then generalized."""
    import json

    from february import preflight
    from images.base_layer import PinnedVersionGone, apt_pins
    from images.pipeline import build

    try:
        oses.release(os_name)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--os") from None

    pins: tuple[str, ...] = ()
    if pinned is not None:
        try:
            pins = tuple(apt_pins(json.loads(pinned.read_text())["pinned"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise typer.BadParameter(
                f"{pinned}: not a manifest that pins its packages ({error})", param_hint="--pinned"
            ) from None
    preflight.require_tools(*preflight.IMAGE_TOOLS)
    preflight.require_firmware()
    preflight.require_free_space(output.resolve(), 12, "an image build (base, bake, qcow2 and raw)")
    os.chdir(REPO)
    try:
        build(output, os_name=os_name, cloud=cloud, pinned=pins)
    except PinnedVersionGone as error:
        out.print(str(error), style="red", markup=False)
        raise typer.Exit(2) from None


def _parse_size(text: str | None) -> int | None:
    """`8G`, `8192M`, `512K` or bytes (binary units) -> bytes."""
    if text is None:
        return None
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    number, unit = (text[:-1], text[-1].upper()) if text[-1:].upper() in units else (text, "")
    if not number.isdigit():
        raise typer.BadParameter(f"{text!r} is not a size like 8G, 8192M or a number of bytes", param_hint="--size")
    return int(number) * units.get(unit, 1)


def _identity(inventory: Path, host: str | None) -> HostIdentity:
    from images.seed import identity_of

    return identity_of(_host(inventory, host, check_files=False))


@image_app.command("flash")
def image_flash(
    image: Path = typer.Argument(..., help="The golden raw image: build/images/<hash>/february.raw (manifest.json beside it)."),
    target: Path = typer.Argument(..., help="The whole disk (/dev/sdX, /dev/nvme0n1) or a disk file."),
    inventory: Path = INVENTORY,
    host: str = HOST,
    yes: bool = typer.Option(False, "--yes", help="Overwrite without asking (needed when there is no terminal)."),
    size: str = typer.Option(None, help="Disk FILE only: create it, or grow it, to this size (e.g. 8G). Never shrinks."),
    manifest: Path = typer.Option(None, help="The build's manifest.json (default: beside IMAGE)."),
) -> None:
    """Write IMAGE onto TARGET, verify it, and seed the host's name, admin user and SSH key for its first boot."""
    from february import preflight
    from images.flash import FlashError, flash

    preflight.require_tools(*preflight.FLASH_TOOLS)
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
    inventory: Path = INVENTORY,
    host: str = HOST,
    out: Path = typer.Option(..., help="Where to write the vfat image (label CIDATA); dd it onto a USB stick."),
) -> None:
    """Write the host's first-boot seed (name, admin user, SSH key) as a small CIDATA vfat image."""
    from february import preflight
    from images.seed import write_seed_vfat

    preflight.require_tools(*preflight.SEED_TOOLS)
    identity = _identity(inventory, host)
    write_seed_vfat(out, identity)
    typer.echo(f"{out}: NoCloud seed (CIDATA) for {identity.hostname}, user {identity.admin_user}")


def main() -> None:
    """The `february` entry point: known failures end in one line naming what to do, not a traceback."""
    from february.preflight import PreflightError
    from february.remote import RemoteError
    from february.vm.qemu import VmError
    from pyinfra_deploys.settings import SettingsError
    from pyinfra_deploys.settings.inventory import InventoryError

    try:
        # Outside standalone mode click returns a command's typer.Exit code instead of exiting.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except (PreflightError, RemoteError, VmError, InventoryError) as error:
        console.print(f"[red]february:[/red] {error}", soft_wrap=True)  # one line, as long as it is
        raise SystemExit(2) from None
    except SettingsError as error:
        console.print(str(error), markup=False)
        raise SystemExit(2) from None
    except click.exceptions.Abort:
        raise SystemExit(130) from None
    except click.exceptions.ClickException as error:
        error.show()
        raise SystemExit(error.exit_code) from None
    except typer.TyperException as error:  # typer's own copy of click's errors (BadParameter raised in a command)
        show, code = getattr(error, "show", None), getattr(error, "exit_code", 2)
        if show is None:
            raise
        show()
        raise SystemExit(code) from None
    except click.exceptions.Exit as done:
        raise SystemExit(done.exit_code) from None

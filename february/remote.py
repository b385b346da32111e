"""Reach any inventory host the way pyinfra does: its ssh_* host data, sudo when not root."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from february.dns_records import dkim_txt_value
from february.paths import state_dir
from pyinfra_deploys import layout
from pyinfra_deploys.facts.connection import Seen, parse_ssh_connection
from pyinfra_deploys.settings.inventory import InventoryHost


class RemoteError(RuntimeError):
    """A command on the host failed; the message carries its stderr."""


def multiplexed(control_path: Path) -> list[str]:
    """ssh options that share one connection per host: a new handshake costs about 1 s on a small or emulated box.

    The first command opens the master connection (at ``control_path``, a
    ``%C`` pattern); it stays 300 s after the last one (Ansible keeps 60 s), so a
    deploy's own session outlives its converge, as the owner's open terminal would.
    Keepalives end a master whose host went away (rebooted, powered off), so
    no command waits on a dead connection.
    """
    control_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return [
        *("-o", "ControlMaster=auto"),
        *("-o", f"ControlPath={control_path}"),
        *("-o", "ControlPersist=300"),
        *("-o", "ServerAliveInterval=5"),
        *("-o", "ServerAliveCountMax=3"),
    ]


# A connection of its own: no shared master, a new TCP connection and handshake, as the owner's next login.
FRESH = ["-o", "ControlMaster=no", "-o", "ControlPath=none"]


def ssh_argv(host: InventoryHost, fresh: bool = False) -> list[str]:
    """``ssh`` with the host's inventory data: ssh_hostname, ssh_port, ssh_user, ssh_key, known hosts.

    ``fresh``: a new connection, not the shared one (which UFW's conntrack keeps
    open whatever the rules now say): what proves the owner can still get in.
    """
    data = host.data
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", "-o", "LogLevel=ERROR"]
    if data.get("ssh_port"):
        argv += ["-p", str(data["ssh_port"])]
    if data.get("ssh_key"):
        argv += ["-i", str(data["ssh_key"])]
    if data.get("ssh_known_hosts_file"):
        argv += ["-o", f"UserKnownHostsFile={data['ssh_known_hosts_file']}"]
    if data.get("ssh_strict_host_key_checking"):
        argv += ["-o", f"StrictHostKeyChecking={data['ssh_strict_host_key_checking']}"]
    sharing = FRESH if fresh else multiplexed(state_dir() / "ssh" / "%C")
    return [*argv, *sharing, f"{host.ssh_user}@{host.ssh_hostname}"]


def as_root(host: InventoryHost, command: str) -> str:
    """``command`` as root on the host: through ``sudo -n`` unless the SSH user is root."""
    return command if host.ssh_user == "root" else f"sudo -n sh -c {shlex.quote(command)}"


def run(host: InventoryHost, command: str, check: bool = True, fresh: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as root on the host; RemoteError (with its stderr) when it fails and ``check``."""
    done = subprocess.run([*ssh_argv(host, fresh), as_root(host, command)], capture_output=True, text=True)
    if check and done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise RemoteError(f"{host.name}: `{command}` exited {done.returncode}: {detail[-1] if detail else 'no output'}")
    return done


def connection(host: InventoryHost) -> Seen | None:
    """This machine's SSH connection as the host sees it (address after any NAT, the host's SSH port), read as the SSH user."""
    done = subprocess.run([*ssh_argv(host), 'echo "${SSH_CONNECTION:-}"'], capture_output=True, text=True)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise RemoteError(f"{host.name}: cannot reach it over SSH: {detail[-1] if detail else 'no output'}")
    return parse_ssh_connection(done.stdout)


def dkim_records(host: InventoryHost) -> dict[str, str]:
    """Each served domain's DKIM TXT value, read from the host (the key is made there); missing ones left out."""
    selector = host.settings.rspamd.dkim_selector
    found: dict[str, str] = {}
    for domain in host.settings.served_domains:
        done = run(host, f"cat {shlex.quote(layout.dkim_record(domain, selector))}", check=False)
        if done.returncode == 0:
            found[domain] = dkim_txt_value(done.stdout)
    return found

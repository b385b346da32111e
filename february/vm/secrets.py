"""The VM's secrets, generated on first use into its state folder (mode 600).

Nothing here is ever committed: passwords are random per VM, and only their
hashes reach the VM.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
from pathlib import Path

from february.site import hash_password, new_password, write_secret
from february.vm.config import DNS_GUEST_PORT, OUTSIDE_ADDRESS, VmConfig
from february.vm.world_process import ensure_world_certs
from february.world.dns import TSIG_KEY_NAME

MAILBOXES = ("alice@example.test", "bob@example.test")


def acme_credentials(tsig_secret: str) -> str:
    """certbot's rfc2136 credentials: the fake DNS (through guestfwd) and the TSIG key it accepts."""
    return "\n".join(
        [
            f"dns_rfc2136_server = {OUTSIDE_ADDRESS}",
            f"dns_rfc2136_port = {DNS_GUEST_PORT}",
            f"dns_rfc2136_name = {TSIG_KEY_NAME}",
            f"dns_rfc2136_secret = {tsig_secret}",
            "dns_rfc2136_algorithm = HMAC-SHA512",
        ]
    )


def ensure_vm_secrets(config: VmConfig) -> Path:
    """Create any missing secret of the VM; return the secrets folder."""
    folder = config.secrets
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for address in MAILBOXES:
        plain = folder / f"{address}.password"
        if not plain.exists():
            write_secret(plain, new_password(18))
        hashed = folder / f"{address}.hash"
        if not hashed.exists():
            write_secret(hashed, hash_password(plain.read_text().strip()))
    for name in ("smarthost.password", "restic.password"):
        if not (folder / name).exists():
            write_secret(folder / name, new_password(24))
    if not config.acme_tsig_secret.exists():
        write_secret(config.acme_tsig_secret, base64.b64encode(secrets.token_bytes(32)).decode())
    if not config.acme_credentials.exists():
        write_secret(config.acme_credentials, acme_credentials(config.acme_tsig_secret.read_text().strip()))
    ensure_world_certs(config)  # the relay's CA is part of the VM's settings (smarthost.ca_file)
    if not config.ssh_key.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"february-{config.name}", "-f", str(config.ssh_key)],
            check=True,
        )
    return folder


def mailbox_password(config: VmConfig, address: str) -> str:
    return (config.secrets / f"{address}.password").read_text().strip()

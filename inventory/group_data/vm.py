"""Overrides for the local February VM (group `vm`), layered on all.py.

The VM lives in a closed QEMU network: its "outside" is one address that
leads to a fake smarthost and a fake DNS on the host's loopback, so it can
never relay to a real provider or a real MX. Secrets are generated into the
VM's state folder by `february vm` (or the tests), never committed.
"""

from february.vm.config import ACME_DIRECTORY, DEFAULT, GUEST_GATEWAY_NET, OUTSIDE_ADDRESS, RELAY_NAME, SMARTHOST_GUEST_PORT

_secrets = DEFAULT.secrets

february_overrides = {
    "mailboxes": {
        "alice@example.test": {"hashed_password_file": str(_secrets / "alice@example.test.hash")},
        "bob@example.test": {"hashed_password_file": str(_secrets / "bob@example.test.hash")},
    },
    "aliases": {
        "team@example.test": ["alice@example.test", "bob@example.test"],
    },
    # Forwarded connections reach the guest from the user-net gateway.
    "submission_networks": ["192.168.1.0/24", "10.10.0.0/24", GUEST_GATEWAY_NET],
    "smarthost": {
        # By name, resolved by the fake DNS: Postfix matches the relay's
        # certificate against DNS names, and it is signed by the test CA.
        "host": RELAY_NAME,
        "ca_file": str(DEFAULT.world_ca),
        "port": SMARTHOST_GUEST_PORT,
        "username": "february-vm@relay.example.net",
        "password_file": str(_secrets / "smarthost.password"),
        # The fake smarthost is the VM's only way out: our SPF authorises its address.
        "spf_include": OUTSIDE_ADDRESS,
    },
    # Rspamd resolves over UDP, which the closed network does not carry: point it
    # at the loopback so its lookups fail at once instead of timing out.
    # test_patterns: the Junk filing test forces "add header" with a GTUBE variant.
    # Backups into a folder on the VM's own disk (a real host names a mounted
    # USB disk, a NAS mount or an sftp: repository).
    "backup": {"repository": "/srv/backup/february", "password_file": str(_secrets / "restic.password")},
    # Limits: the VM tests send a few dozen messages in all; only the
    # concurrency limit (reset as soon as sessions close) is tested.
    "limits": {"connections_per_minute": 1000, "messages_per_minute": 1000},
    # The certificate from the world's ACME server (pebble), by DNS-01 through
    # the fake DNS's dynamic updates; pebble's HTTPS is signed by the test CA.
    "tls": {
        "source": "acme",
        "acme": {
            "email": "postmaster@example.test",
            "server": ACME_DIRECTORY,
            "dns_plugin": "rfc2136",
            "credentials_file": str(DEFAULT.acme_credentials),
            # The fake DNS answers from the update at once.
            "propagation_seconds": 0,
            "server_ca_file": str(DEFAULT.world_ca),
        },
    },
    "rspamd": {"offline": True, "nameservers": ["127.0.0.1"], "test_patterns": True},
    # A switch not confirmed over a new SSH connection goes back by itself after 30 s
    # (the shortest allowed; a real host keeps the default): the lockout test waits that long.
    "generations": {"confirm_seconds": 30},
}

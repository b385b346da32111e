"""The February settings for every host: the one place a site declares itself.

Keys and meanings: pyinfra_deploys/settings/model.py. Defaults are the seed
article's values; only what differs needs saying. Secrets are paths to files
kept out of the repo (see docs/operations.md, "Secrets").
"""

february = {
    "hostname": "mail.example.test",
    "domain": "example.test",
    "virtual_domains": ["example.test"],
    "mailboxes": {
        "alice@example.test": {"hashed_password_file": "secrets/alice@example.test.hash"},
    },
    "aliases": {
        "postmaster@example.test": ["alice@example.test"],
        "abuse@example.test": ["alice@example.test"],
    },
    # The seed's LAN and VPN ranges: the only sources for 587 and 993.
    "submission_networks": ["192.168.1.0/24", "10.10.0.0/24"],
    "smarthost": {
        "host": "smtp.fastmail.com",
        "port": 587,
        "username": "you@fastmail.com",
        "password_file": "secrets/smarthost.password",
        # Fastmail's senders, authorised in our SPF (`february dns`).
        "spf_include": "spf.messagingengine.com",
    },
    "tls": {"source": "self-signed"},
}

"""The real February host: `pyinfra inventory/hosts.py deploy.py`.

Settings are in group_data/all.py (keys: pyinfra_deploys/settings/model.py).
`february check -i inventory/hosts.py` validates them (and reads the secret
files) without connecting; the deploy validates them again before its
first operation.
"""

mail = [
    (
        "february.home.arpa",
        {
            # The admin user: the deploy logs in as it, and `february image
            # flash` (or `image seed`) creates it at first boot, with sudo.
            "ssh_user": "ubuntu",
            "_sudo": True,
            # The owner's SSH public key, seeded onto a flashed disk: the key
            # line itself or the path of a .pub file (~ and paths relative to
            # the working directory allowed). One key line, checked.
            "february_admin_ssh_key": "~/.ssh/id_ed25519.pub",
        },
    ),
]

"""The real February host: `pyinfra inventory/hosts.py deploy.py`.

Settings are in group_data/all.py (keys: pyinfra_deploys/settings/model.py).
`february check inventory/hosts.py` validates them (and reads the secret
files) without connecting; the deploy validates them again before its
first operation.
"""

mail = [
    ("february.home.arpa", {"ssh_user": "ubuntu", "_sudo": True}),
]

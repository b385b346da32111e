"""The real February host: `pyinfra inventory/hosts.py deploy.py`.

Settings are in group_data/all.py; they are validated here, when the
inventory loads, so a wrong setting stops the run before any connection.
"""

from inventory.validate import validate_groups

validate_groups("all")

mail = [
    ("february.home.arpa", {"ssh_user": "ubuntu", "_sudo": True}),
]

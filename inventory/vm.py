"""The local February VM: `pyinfra inventory/vm.py deploy.py` (or `february vm`).

Reached as root over SSH on a loopback port forwarded by QEMU, with a key
made for this VM alone. Settings: group_data/all.py, then group_data/vm.py.
"""

from february.vm.config import DEFAULT
from inventory.validate import validate_groups

validate_groups("all", "vm")

vm = [
    (
        "february-vm",
        {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": DEFAULT.ssh_port,
            "ssh_user": "root",
            "ssh_key": str(DEFAULT.ssh_key),
            "ssh_known_hosts_file": "/dev/null",
            "ssh_strict_host_key_checking": "no",
        },
    )
]

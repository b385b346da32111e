"""The local February VM: `pyinfra inventory/vm.py deploy.py` (or `february vm`).

Reached as root over SSH on a loopback port forwarded by QEMU, with a key
made for this VM alone. Settings: group_data/all.py, then group_data/vm.py.
"""

from february.vm.config import from_environment

_config = from_environment()  # $FEBRUARY_VM picks the slot (default "vm")

vm = [
    (
        f"february-{_config.name}",
        {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": _config.ssh_port,
            "ssh_user": "root",
            "ssh_key": str(_config.ssh_key),
            "ssh_known_hosts_file": "/dev/null",
            "ssh_strict_host_key_checking": "no",
        },
    )
]

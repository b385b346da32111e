"""The golden-image bake: Packer's build VM, converged by the same deploy.py.

Packer's `shell-local` provisioner (images/packer/build.pkr.hcl) runs
`python -m pyinfra -y inventory/bake.py deploy.py` and passes the build VM's
address through the environment: FEBRUARY_BAKE_HOST, FEBRUARY_BAKE_PORT,
FEBRUARY_BAKE_USER and FEBRUARY_BAKE_SSH_KEY (the build's throwaway key).

Host data `february_bake` makes deploy.py run its image phase alone
(pyinfra_deploys/phases.py): packages and every file that needs no secret
or host identity. Secrets, keys, the host name, the firewall's rule set and
running services are the host phase, at the first converge of each host. The
settings are the site's own (group_data/all.py), so that first converge
changes nothing the image phase placed.
"""

import os
import sys

from pyinfra_deploys.bake_groups import BAKE_GROUP, check_bake_groups

# The settings are validated by the deploy (pyinfra_deploys.settings.host),
# without reading the secret files: a bake never reads them, and the machine
# that bakes need not have them.

try:
    _port = int(os.environ["FEBRUARY_BAKE_PORT"])
    _key = os.environ["FEBRUARY_BAKE_SSH_KEY"]
except (KeyError, ValueError):
    print(
        "inventory/bake.py is run by Packer (images/packer): FEBRUARY_BAKE_PORT and FEBRUARY_BAKE_SSH_KEY are not set",
        file=sys.stderr,
    )
    raise SystemExit(2) from None

_user = os.environ.get("FEBRUARY_BAKE_USER", "root")
# The site's groups (images.pipeline.build(groups=...)): their group_data applies to the
# image as to the site's hosts, e.g. `vm` for the lab's site (group_data/vm.py).
try:
    _groups = check_bake_groups(name for name in os.environ.get("FEBRUARY_BAKE_GROUPS", "").split(",") if name)
except ValueError as error:
    print(f"inventory/bake.py: FEBRUARY_BAKE_GROUPS: {error}", file=sys.stderr)
    raise SystemExit(2) from None

_build_vm = [
    (
        "february-bake",
        {
            "february_bake": True,
            "ssh_hostname": os.environ.get("FEBRUARY_BAKE_HOST", "127.0.0.1"),
            "ssh_port": _port,
            "ssh_user": _user,
            "ssh_key": _key,
            # The build VM makes new host keys at each boot: nothing to pin.
            "ssh_known_hosts_file": "/dev/null",
            "ssh_strict_host_key_checking": "no",
            # The Ubuntu cloud image logs in as its default user.
            "_sudo": _user != "root",
        },
    )
]
globals()[BAKE_GROUP] = _build_vm
globals().update({name: ["february-bake"] for name in _groups})

"""Security updates: unattended-upgrades from the security pocket, services restarted by needrestart."""

from __future__ import annotations

from pyinfra.api import deploy

from pyinfra_deploys import layout, packages
from pyinfra_deploys.apt import install
from pyinfra_deploys.place import place
from pyinfra_deploys.settings.host import current


@deploy("Image: updates")
def image_phase() -> None:
    s = current()
    install("updates", packages.UPDATES)
    # apt's own timers (apt-daily, apt-daily-upgrade) are enabled by the
    # packages on both distributions; these files tell them what to do.
    place(layout.APT_AUTO_UPGRADES, s=s)
    place(layout.APT_UNATTENDED, s=s)
    place(layout.NEEDRESTART_CONF)

"""Base: host name, /etc/mailname, apt proxy, Postfix's debconf answers."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import server

from pyinfra_deploys import packages
from pyinfra_deploys.apt import install
from pyinfra_deploys.place import absent, place
from pyinfra_deploys.settings.host import baking, current
from pyinfra_deploys.stamp import manage_path


@deploy("February base")
def base() -> None:
    s = current()
    if not baking():  # an image gets its name at first boot (cloud-init)
        server.hostname(name="Set the host name", hostname=s.hostname)
        manage_path("/etc/hostname")
    place("/etc/mailname", s=s)

    if s.apt_proxy:
        place("/etc/apt/apt.conf.d/80february-proxy", s=s)
    else:
        absent("/etc/apt/apt.conf.d/80february-proxy", name="No apt proxy")

    # Postfix installs unattended as "Internet Site" for this host; the
    # answers are kept in a file so they are fed to debconf only on change.
    preseed = place("/var/lib/february/postfix.preseed", s=s)
    server.shell(
        name="Feed Postfix's debconf answers",
        commands=["debconf-set-selections /var/lib/february/postfix.preseed"],
        _if=preseed.did_change,
    )
    install("base", packages.BASE)

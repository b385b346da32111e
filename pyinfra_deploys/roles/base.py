"""Base: host name, /etc/mailname, apt proxy, Postfix's debconf answers."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import server

from pyinfra_deploys import layout, packages
from pyinfra_deploys.apt import install
from pyinfra_deploys.place import absent, place
from pyinfra_deploys.settings.host import current
from pyinfra_deploys.stamp import manage_path


@deploy("Image: base")
def image_phase() -> None:
    s = current()
    place(layout.MAILNAME, s=s)

    if s.apt_proxy:
        place(layout.APT_PROXY, s=s)
    else:
        absent(layout.APT_PROXY, name="No apt proxy")

    # Postfix installs unattended as "Internet Site" for this host; the
    # answers are kept in a file so they are fed to debconf only on change.
    preseed = place(layout.POSTFIX_PRESEED, s=s)
    server.shell(
        name="Feed Postfix's debconf answers",
        commands=[f"debconf-set-selections {layout.POSTFIX_PRESEED}"],
        _if=preseed.did_change,
    )
    install("base", packages.BASE)


@deploy("Host: base")
def host_phase() -> None:
    """The host's name (an image gets its own at first boot, from cloud-init)."""
    server.hostname(name="Set the host name", hostname=current().hostname)
    manage_path(layout.HOSTNAME)

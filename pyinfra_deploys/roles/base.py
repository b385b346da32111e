"""Base: host name, /etc/mailname, apt proxy, Postfix's debconf answers; cloud-init off after the first converge."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import server

from pyinfra_deploys import layout, packages
from pyinfra_deploys.apt import install
from pyinfra_deploys.place import absent, had_text, place, place_own
from pyinfra_deploys.settings.host import current
from pyinfra_deploys.stamp import manage_path

CLOUD_INIT_OFF = "# february: cloud-init set this host up at its first boot; since its first converge the deploy does.\n"


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
    hostname = current().hostname
    manage_path(layout.HOSTNAME)
    # /etc/hostname, as hostnamectl writes it, is read with the placed files: no command when it is the name.
    if had_text(layout.HOSTNAME, f"{hostname}\n"):
        host.noop(f"the host name is {hostname}")
    else:
        server.shell(name="Set the host name", commands=[f"hostnamectl set-hostname {shlex.quote(hostname)}"])
    # From here on the deploy owns the host's identity: later boots skip cloud-init's
    # four stages (its per-boot modules would only re-apply the first boot's seed).
    place_own(layout.CLOUD_INIT_DISABLED, text=CLOUD_INIT_OFF)

"""The two phases of a converge, as NixOS builds a system and then activates it.

**Image phase**: packages and every file that needs no secret and no host
identity (keys, the host's name, its records). Packer bakes this phase alone
into the golden image (inventory/bake.py); a host's converge runs it first,
and on a host flashed from that image it changes nothing.

**Host phase**: the host's name, secrets (mailbox hashes, relay and
repository passwords), keys (TLS, DKIM), running services, the firewall's
rule set, the backup, status and ACME timers, an ACME certificate; then, in deploy.py, the converge
stamp and the generation record. Services restart (or reload) when a file of
either phase changed, after a check of the whole configuration.

Each role (pyinfra_deploys/roles/) has an ``image_phase`` and, where it has
anything per host, a ``host_phase``; this module lists them in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from pyinfra.api.operation import OperationMeta
from pyinfra.operations import server

from pyinfra_deploys.image_record import record_command
from pyinfra_deploys.operations import placed
from pyinfra_deploys.roles import acme, backup, base, dovecot, firewall, generations, postfix, rspamd, status, tls, updates
from pyinfra_deploys.service import systemd_reads_enablement

IMAGE_RECORD_OPERATION = "Record the image phase"


@dataclass(frozen=True)
class ImagePhase:
    """What the image phase placed that a service's restart (host phase) depends on."""

    dovecot: list[OperationMeta]
    rspamd: list[OperationMeta]
    postfix: list[OperationMeta]


def image_phase() -> ImagePhase:
    base.image_phase()
    updates.image_phase()
    tls.image_phase()
    acme.image_phase()
    dovecot_changes = cast(list[OperationMeta], dovecot.image_phase())
    rspamd_changes = cast(list[OperationMeta], rspamd.image_phase())
    postfix_changes = cast(list[OperationMeta], postfix.image_phase())
    firewall.image_phase()
    backup.image_phase()
    status.image_phase()
    generations.image_phase()
    return ImagePhase(dovecot=dovecot_changes, rspamd=rspamd_changes, postfix=postfix_changes)


def host_phase(image: ImagePhase) -> None:
    base.host_phase()
    # Rspamd first and Postfix last, once the milter listens: Rspamd's first
    # start compiles its regexps (minutes under emulation), meanwhile the rest runs.
    rspamd_changes = cast(list[OperationMeta], rspamd.host_phase(changes=image.rspamd))
    tls_changes = cast(list[OperationMeta], tls.host_phase())
    dovecot.host_phase(changes=[*image.dovecot, *tls_changes])
    firewall.host_phase()
    backup.host_phase()
    status.host_phase()
    generations.host_phase()
    acme.host_phase()
    rspamd.milter_listening(changes=rspamd_changes)
    postfix.host_phase(changes=[*image.postfix, *tls_changes])
    systemd_reads_enablement()
    # Last: a CA or DNS provider that fails leaves the services running on the certificate they had.
    acme.issue()


def record_image_phase() -> OperationMeta:
    """The bake's last step: every file the image phase placed, with its digest (the manifest's ``image_phase``)."""
    return server.shell(name=IMAGE_RECORD_OPERATION, commands=[record_command(placed.registered())])

"""The deploy's own SSH connection as the host sees it: who connects (the address UFW would judge) and to which port."""

from __future__ import annotations

from typing import NamedTuple

from pyinfra.api import FactBase
from typing_extensions import override


class Seen(NamedTuple):
    address: str  # the deployer's address, after any NAT or port forward on the way
    port: int  # the host's SSH port the connection reached


class SshConnection(FactBase[Seen | None]):
    """
    ``$SSH_CONNECTION`` of the deploy's login, read as the SSH user (``_sudo=False``: sudo drops it).

    .. code:: python

        Seen(address="192.168.1.20", port=22)

    ``None`` when the connection is not SSH (pyinfra's local or docker connectors).
    """

    @override
    def command(self) -> str:
        return 'echo "${SSH_CONNECTION:-}"'

    @override
    def process(self, output: list[str]) -> Seen | None:
        return parse_ssh_connection(" ".join(output))


def parse_ssh_connection(text: str) -> Seen | None:
    """``client_address client_port server_address server_port`` -> the client's address and the server's port."""
    fields = text.split()
    if len(fields) != 4 or not fields[3].isdigit():
        return None
    return Seen(fields[0], int(fields[3]))

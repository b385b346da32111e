"""
A system account and its group of the same name, read with ``getent`` (two lookups).

pyinfra's ``server.user`` reads its ``Users`` fact, which runs ``id``,
``lastlog`` and ``grep`` for every account on the host: about 10 s under
emulation, on every converge. The one account a February host manages (vmail)
needs two lines of ``getent``.

.. code:: python

    from pyinfra_deploys.facts.account import SystemAccount
"""

from __future__ import annotations

import shlex
from typing import TypedDict

from pyinfra.api import FactBase
from typing_extensions import override

GROUP_MARKER = "@@group@@"


class AccountValue(TypedDict):
    uid: int | None  # None: no such user
    gid: int | None  # the user's primary group id
    home: str | None
    shell: str | None
    group_gid: int | None  # the id of the group named like the account; None: no such group


class SystemAccount(FactBase[AccountValue]):
    """The passwd entry of ``user`` and the group named ``user``, each or both possibly absent."""

    @override
    def command(self, user: str) -> str:
        quoted = shlex.quote(user)
        return f"getent passwd {quoted}; echo {GROUP_MARKER}; getent group {quoted}; true"

    @override
    def process(self, output: list[str]) -> AccountValue:
        value = AccountValue(uid=None, gid=None, home=None, shell=None, group_gid=None)
        in_group = False
        for line in output:
            if line.strip() == GROUP_MARKER:
                in_group = True
            elif in_group and line.count(":") >= 3:
                value["group_gid"] = int(line.split(":")[2])
            elif not in_group and line.count(":") == 6:
                _, _, uid, gid, _, home, shell = line.split(":")
                value["uid"], value["gid"], value["home"], value["shell"] = int(uid), int(gid), home, shell
        return value

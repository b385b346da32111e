"""
A system account with a group of its own: created when missing, put back when its ids, home or shell drifted.

Reads the cheap ``SystemAccount`` fact (two ``getent`` lookups) instead of
pyinfra's ``Users`` fact, which costs a few processes per account on the
host (see ``pyinfra_deploys/facts/account.py``).
"""

from __future__ import annotations

from collections.abc import Generator

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation

from pyinfra_deploys.facts.account import SystemAccount


def _command(*args: str | int) -> StringCommand:
    return StringCommand(*(QuoteString(str(arg)) for arg in args))


@operation()
def system_account(user: str, uid: int, home: str, shell: str) -> Generator[StringCommand, None, None]:
    """
    The system user ``user`` with id ``uid``, in the group ``user`` with the same id, with ``home`` (never
    created here) and ``shell``.

    + user: the account's and its group's name
    + uid: its user id and group id
    + home: its home directory, as recorded in passwd
    + shell: its login shell (``/usr/sbin/nologin`` for a service account)
    """
    current = host.get_fact(SystemAccount, user=user)
    if current["group_gid"] is None:
        yield _command("groupadd", "--system", "--gid", uid, user)
    elif current["group_gid"] != uid:
        yield _command("groupmod", "--gid", uid, user)
    if current["uid"] is None:
        yield _command(
            "useradd", "--system", "--uid", uid, "--gid", user, "--home-dir", home, "--no-create-home", "--shell", shell, user
        )
        return
    changes: list[str | int] = []
    if current["uid"] != uid:
        changes += ["--uid", uid]
    if current["gid"] != uid:
        changes += ["--gid", user]
    if current["home"] != home:
        changes += ["--home", home]
    if current["shell"] != shell:
        changes += ["--shell", shell]
    if changes:
        yield _command("usermod", *changes, user)
    elif current["group_gid"] == uid:
        host.noop(f"account {user} is as wanted")

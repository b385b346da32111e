"""The SystemAccount fact (getent output) and the system_account operation (what it runs for each drift)."""

from __future__ import annotations

import pytest
from pyinfra.api import StringCommand
from pyinfra.context import ctx_host

from pyinfra_deploys.facts.account import GROUP_MARKER, AccountValue, SystemAccount
from pyinfra_deploys.operations.account import system_account
from tests.fakehost import FakeHost

WANTED = {"user": "vmail", "uid": 5000, "home": "/var/vmail", "shell": "/usr/sbin/nologin"}
PRESENT = AccountValue(uid=5000, gid=5000, home="/var/vmail", shell="/usr/sbin/nologin", group_gid=5000)


def commands_for(fact: AccountValue) -> tuple[list[str], str | None]:
    fake = FakeHost({SystemAccount: fact})
    with ctx_host.use(fake):
        commands = list(system_account._inner(**WANTED))
    assert fake.asked_for(SystemAccount) == [{"user": "vmail"}]
    assert all(isinstance(command, StringCommand) for command in commands)
    return [command.get_raw_value() for command in commands], fake.noop_description


def test_the_fact_reads_the_user_and_its_group() -> None:
    output = ["vmail:x:5000:5000::/var/vmail:/usr/sbin/nologin", GROUP_MARKER, "vmail:x:5000:"]
    assert SystemAccount().process(output) == PRESENT


def test_the_fact_says_what_is_missing() -> None:
    assert SystemAccount().process([GROUP_MARKER]) == AccountValue(uid=None, gid=None, home=None, shell=None, group_gid=None)
    only_group = SystemAccount().process([GROUP_MARKER, "vmail:x:5000:dovecot"])
    assert only_group["uid"] is None and only_group["group_gid"] == 5000


def test_the_fact_command_quotes_the_name() -> None:
    assert (
        SystemAccount().command("vmail; rm -rf /")
        == "getent passwd 'vmail; rm -rf /'; echo @@group@@; getent group 'vmail; rm -rf /'; true"
    )


@pytest.mark.parametrize(
    ("fact", "expected"),
    [
        (
            AccountValue(uid=None, gid=None, home=None, shell=None, group_gid=None),
            [
                "groupadd --system --gid 5000 vmail",
                "useradd --system --uid 5000 --gid vmail --home-dir /var/vmail --no-create-home --shell /usr/sbin/nologin vmail",
            ],
        ),
        ({**PRESENT, "group_gid": 5001}, ["groupmod --gid 5000 vmail"]),
        ({**PRESENT, "home": "/home/vmail", "shell": "/bin/bash"}, ["usermod --home /var/vmail --shell /usr/sbin/nologin vmail"]),
        ({**PRESENT, "uid": 4999, "gid": 100}, ["usermod --uid 5000 --gid vmail vmail"]),
    ],
    ids=["missing", "group-id", "home-and-shell", "ids"],
)
def test_only_what_drifted_is_changed(fact: AccountValue, expected: list[str]) -> None:
    assert commands_for(fact) == (expected, None)


def test_an_account_as_wanted_changes_nothing() -> None:
    assert commands_for(PRESENT) == ([], "account vmail is as wanted")

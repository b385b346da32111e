"""Rebuild from scratch: golden image + inventory + secrets + state = the same server.

The first host is the session's VM (booted from the base image and
converged). Its state is backed up, a second VM is made from the golden
image in the "rebuild" slot, the state is restored and the deploy
converged; the rebuilt host must hash the same and still serve the mail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from february.vm import lifecycle, qemu
from february.vm.config import for_name
from february.vm.state import backup
from tests.image.conftest import Baked
from tests.vm.mailvm import MailVm, message
from tests.vm.test_reconverge import grand_total

# Managed configuration and the firewall; .db files are Berkeley DB and not
# byte-stable, their sources are compared instead. UFW's rule files list the
# rules in the order they were added (the image had the site's rules, the
# converge added the VM's), so the rules are compared as a sorted set.
FINGERPRINT = (
    "find /etc/postfix /etc/dovecot /etc/rspamd -type f ! -name '*.db' -print0 | sort -z | xargs -0 sha256sum; "
    "sha256sum /etc/ufw/ufw.conf /etc/default/ufw; "
    "grep -h '^### tuple' /etc/ufw/user.rules /etc/ufw/user6.rules | sort"
)


@pytest.fixture(scope="module")
def first_host(mailvm: MailVm, tmp_path_factory: pytest.TempPathFactory) -> tuple[MailVm, str, str, Path]:
    subject = f"before the rebuild {uuid.uuid4()}"
    with mailvm.smtp() as client:
        client.send_message(message("carol@example.net", "alice@example.test", subject))
    mailvm.wait_for_message("alice@example.test", subject)
    archive = backup(qemu.ssh_argv(mailvm.config), tmp_path_factory.mktemp("state") / "state.tar.gz")
    return mailvm, mailvm.run(FINGERPRINT).stdout, subject, archive


@pytest.fixture(scope="module")
def rebuilt(first_host: tuple[MailVm, str, str, Path], baked: Baked) -> Iterator[MailVm]:
    config = for_name("rebuild")
    try:
        lifecycle.rebuild(baked.qcow2, first_host[3], config)
        yield MailVm(config=config, started_at=first_host[0].started_at)
    finally:
        qemu.stop(config)


def test_the_rebuilt_host_has_the_same_configuration(first_host: tuple[MailVm, str, str, Path], rebuilt: MailVm) -> None:
    assert rebuilt.run(FINGERPRINT).stdout == first_host[1]


def test_mail_delivered_before_the_rebuild_is_still_readable_over_imaps(first_host: tuple[MailVm, str, str, Path], rebuilt: MailVm) -> None:
    rebuilt.wait_for_message("alice@example.test", first_host[2], timeout=30)


def test_the_dkim_key_survived_the_rebuild(mailvm: MailVm, rebuilt: MailVm) -> None:
    path = "/var/lib/rspamd/dkim/example.test.february.key"
    assert rebuilt.run(f"sha256sum {path}").stdout == mailvm.run(f"sha256sum {path}").stdout


def test_the_rebuilt_host_receives_and_relays_mail(rebuilt: MailVm) -> None:
    inbound = f"after the rebuild {uuid.uuid4()}"
    with rebuilt.smtp() as client:
        client.send_message(message("carol@example.net", "bob@example.test", inbound))
    rebuilt.wait_for_message("bob@example.test", inbound)
    outbound = f"relayed after the rebuild {uuid.uuid4()}"
    with rebuilt.submission("bob@example.test") as client:
        client.send_message(message("bob@example.test", "dave@example.net", outbound))
    record = rebuilt.wait_for_relayed(outbound)
    assert record["tls"] is True and record["auth_login"] == rebuilt.relay_login
    assert "DKIM-Signature:" in record["data"]


def test_a_second_converge_of_the_rebuilt_host_changes_nothing(rebuilt: MailVm) -> None:
    assert grand_total(lifecycle.converge(rebuilt.config))[1:3] == (0, 0)

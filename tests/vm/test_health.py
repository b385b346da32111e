"""Check 10, after all the mail above: configs clean, queue empty, journals free of errors.

It judges everything the session did to the VM, so tests/conftest.py runs it
after every other VM test (and before the owner's path, which ends the VM).
"""

from __future__ import annotations

import time

from pyinfra_deploys import layout
from tests.vm.mailvm import MailVm


def test_postfix_check_is_clean(mailvm: MailVm) -> None:
    done = mailvm.run("postfix check 2>&1; postconf -n >/dev/null")
    assert done.stdout == "" and done.stderr == ""


def test_doveconf_is_clean(mailvm: MailVm) -> None:
    done = mailvm.run("doveconf -n >/dev/null")
    assert done.stderr == ""


def test_rspamd_configtest_is_clean(mailvm: MailVm) -> None:
    done = mailvm.run("rspamadm configtest")
    assert "syntax OK" in done.stdout


def test_the_services_run_and_listen_where_the_seed_says(mailvm: MailVm) -> None:
    host = mailvm.host
    for service in (*layout.MAIL_SERVICES, layout.REDIS_SERVICE):
        assert host.service(service).is_running and host.service(service).is_enabled, service
    for address in ("tcp://0.0.0.0:25", "tcp://0.0.0.0:587", "tcp://0.0.0.0:993", "tcp://127.0.0.1:11332"):
        assert host.socket(address).is_listening, address
    assert not host.socket("tcp://0.0.0.0:143").is_listening
    assert host.file(layout.TLS_KEY).mode == 0o600
    assert host.file(layout.SASL_PASSWD).mode == 0o600
    assert host.file(f"{layout.SASL_PASSWD}.db").mode == 0o600
    # Dovecot's sockets inside Postfix's chroot (main.cf names them relative to it).
    assert host.file(f"{layout.POSTFIX_CHROOT}/private/auth").is_socket
    assert host.file(f"{layout.POSTFIX_CHROOT}/private/dovecot-lmtp").is_socket


def test_the_queue_is_empty_after_the_tests(mailvm: MailVm) -> None:
    deadline = time.monotonic() + 60
    while (out := mailvm.run("postqueue -p").stdout.strip()) != "Mail queue is empty":
        assert time.monotonic() < deadline, out
        time.sleep(2)


def test_the_journal_has_no_errors_from_the_mail_services(mailvm: MailVm) -> None:
    # Warnings are expected here: the tests themselves make Postfix refuse
    # TLS 1.0/1.1 and wrong passwords, which it logs as warnings.
    assert mailvm.journal_errors() == ""

"""Anvil's concurrency limit on 25 and the failed-login delay on 587."""

from __future__ import annotations

import smtplib
import socket
import time

import pytest

from february.vm.lifecycle import vm_settings
from tests.vm.mailvm import MailVm


def banner(sock: socket.socket) -> str:
    """The first reply line of an SMTP server (220 or 421)."""
    return sock.makefile("rb").readline().decode(errors="replace")


def test_one_client_gets_421_beyond_the_concurrency_limit_on_25(mailvm: MailVm) -> None:
    limit = vm_settings().limits.concurrent_connections
    sessions: list[socket.socket] = []
    try:
        for _ in range(limit):
            sessions.append(socket.create_connection(("127.0.0.1", mailvm.config.smtp_port), timeout=60))
            assert banner(sessions[-1]).startswith("220"), "a session within the limit was refused"
        sessions.append(socket.create_connection(("127.0.0.1", mailvm.config.smtp_port), timeout=60))
        reply = banner(sessions[-1])
        assert reply.startswith("421") and "too many connections" in reply.lower(), reply
    finally:
        for sock in sessions:
            sock.close()
    # The count drops as soon as the sessions close: later tests are not limited.
    deadline = time.monotonic() + 30
    while True:
        with socket.create_connection(("127.0.0.1", mailvm.config.smtp_port), timeout=60) as sock:
            reply = banner(sock)
        if reply.startswith("220"):
            break
        assert time.monotonic() < deadline, reply
        time.sleep(1)


def test_a_wrong_password_on_587_is_answered_only_after_the_failure_delay(mailvm: MailVm) -> None:
    delay = vm_settings().limits.auth_failure_delay
    assert delay > 0
    with mailvm.submission() as client:
        began = time.monotonic()
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login("alice@example.test", "wrong-password")
        elapsed = time.monotonic() - began
    assert elapsed >= delay - 0.25, elapsed

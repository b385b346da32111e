"""Many inbound messages over parallel SMTP sessions on port 25 (the fault test and bench/inbound_bench.py)."""

from __future__ import annotations

import smtplib
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from february.vm.config import VmConfig
from tests.vm.mailvm import MailVm, message


def send_burst(config: VmConfig, recipients: list[str], count: int, sessions: int, tag: str) -> Counter[str]:
    """Send ``count`` messages (subjects ``<tag> <n>``) over ``sessions`` parallel sessions; return how many each recipient got."""

    def session(first: int) -> None:
        with smtplib.SMTP("127.0.0.1", config.smtp_port, local_hostname="client.example.net", timeout=300) as client:
            client.ehlo()
            for n in range(first, count, sessions):
                client.send_message(message("carol@example.net", recipients[n % len(recipients)], f"{tag} {n}"))

    with ThreadPoolExecutor(max_workers=sessions) as pool:
        for done in [pool.submit(session, first) for first in range(sessions)]:
            done.result()
    return Counter(recipients[n % len(recipients)] for n in range(count))


def count_landed(vm: MailVm, address: str, tag: str) -> int:
    """How many messages whose subject holds ``tag`` are in the INBOX."""
    with vm.imap(address) as client:
        client.select("INBOX", readonly=True)
        _, found = client.search(None, "SUBJECT", f'"{tag}"')
    return len(found[0].split())


def wait_until_landed(vm: MailVm, expected: Counter[str], tag: str, timeout: float = 600) -> dict[str, int]:
    """Poll every mailbox until it holds its share; return the final counts."""
    deadline = time.monotonic() + timeout
    while True:
        landed = {address: count_landed(vm, address, tag) for address in expected}
        if all(landed[address] >= want for address, want in expected.items()) or time.monotonic() > deadline:
            return landed
        time.sleep(3)

"""Many inbound messages over parallel SMTP sessions on port 25 (the fault test and bench/inbound_bench.py).

The sessions run in a process of their own (``python -m tests.vm.burst``):
pyinfra, imported by the VM tests, patches threads and sockets with gevent,
under which parallel sessions stalled until they timed out.

The sessions connect one after another, each once the one before has its
greeting, then send in parallel. QEMU's hostfwd listens with a backlog of 1:
of 30 simultaneous connects, 3 completed on the client's side were never
accepted by QEMU and never greeted (the host kernel drops the handshake's
last ACK when that queue is full). A mail server's own listener has
Postfix's backlog; only the lab's port forward has this one.
"""

from __future__ import annotations

import argparse
import json
import smtplib
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from february.vm.config import VmConfig
from tests.vm.mailvm import MailVm, message


def _send(port: int, recipients: list[str], count: int, sessions: int, tag: str) -> None:
    connecting = threading.Lock()

    def session(first: int) -> None:
        with connecting:
            client = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example.net", timeout=300)
        with client:
            client.ehlo()
            for n in range(first, count, sessions):
                client.send_message(message("carol@example.net", recipients[n % len(recipients)], f"{tag} {n}"))

    with ThreadPoolExecutor(max_workers=sessions) as pool:
        for done in [pool.submit(session, first) for first in range(sessions)]:
            done.result()


def send_burst(config: VmConfig, recipients: list[str], count: int, sessions: int, tag: str) -> Counter[str]:
    """Send ``count`` messages (subjects ``<tag> <n>``) over ``sessions`` parallel sessions; return how many each recipient got."""
    argv = [sys.executable, "-m", "tests.vm.burst", str(config.smtp_port), str(count), str(sessions), tag, *recipients]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    return Counter(json.loads(done.stdout))


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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.vm.burst", description="Send a burst of messages to 127.0.0.1:PORT.")
    parser.add_argument("port", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("sessions", type=int)
    parser.add_argument("tag")
    parser.add_argument("recipients", nargs="+")
    args = parser.parse_args()
    _send(args.port, args.recipients, args.count, args.sessions, args.tag)
    print(json.dumps(Counter(args.recipients[n % len(args.recipients)] for n in range(args.count))))


if __name__ == "__main__":
    main()

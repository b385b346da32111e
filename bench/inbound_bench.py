"""Inbound throughput on port 25: messages per second accepted, and landed in the Maildirs.

    .venv/bin/python bench/inbound_bench.py [--count 300] [--sessions 8]

Needs the local VM up (`february vm`). Sends --count messages over
--sessions parallel SMTP sessions (the burst of tests/vm/test_faults.py),
through Postfix, the Rspamd milter and Dovecot's LMTP, then polls IMAPS
until every one has landed. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from february.vm import qemu
from february.vm.config import DEFAULT
from tests.vm.burst import send_burst, wait_until_landed
from tests.vm.mailvm import MailVm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300, help="messages to send (default 300)")
    parser.add_argument("--sessions", type=int, default=8, help="parallel SMTP sessions (default 8, under the limit of 10)")
    args = parser.parse_args()
    if qemu.running_pid(DEFAULT) is None:
        sys.exit("no VM in the default slot: run `february vm` first")
    vm = MailVm(config=DEFAULT, started_at=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    began = time.monotonic()
    expected = send_burst(DEFAULT, ["alice@example.test", "bob@example.test"], args.count, args.sessions, tag)
    accepted = time.monotonic() - began
    landed = wait_until_landed(vm, expected, tag)
    delivered = time.monotonic() - began
    lost = sum(expected.values()) - sum(landed.values())
    figures = {
        "messages": float(args.count),
        "sessions": float(args.sessions),
        "accepted in (s)": accepted,
        "accepted (msg/s)": args.count / accepted,
        "landed in (s)": delivered,
        "landed (msg/s)": args.count / delivered,
        "not landed": float(lost),
    }
    for label, value in figures.items():
        print(f"{label:24s} {value:8.1f}")
    if lost:
        sys.exit(f"{lost} messages did not land")


if __name__ == "__main__":
    main()

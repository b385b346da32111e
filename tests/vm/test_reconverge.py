"""Check 9: converging an already converged VM changes nothing; drift is still repaired.

A stopped service started again by the next converge: tests/vm/test_faults.py (Rspamd).
"""

from __future__ import annotations

import re
import time

from february.vm import lifecycle
from tests.vm.fixtures import TIMINGS
from tests.vm.mailvm import MailVm


def grand_total(lines: list[str]) -> tuple[int, int, int, int]:
    """pyinfra's summary row: operations, changed, errors, unchanged ('-' is 0)."""
    row = next(line for line in reversed(lines) if "Grand total" in line)
    cells = re.findall(r"\s(\d+|-)(?=\s|$)", row)
    operations, changed, errors, unchanged = (0 if cell == "-" else int(cell) for cell in cells[-4:])
    return operations, changed, errors, unchanged


def changed_operations(lines: list[str], prefix: str = "") -> list[str]:
    """The rows of pyinfra's results table (operation, hosts, success, error, no change) whose operation
    starts with ``prefix`` and changed the host."""
    changed = []
    for line in lines:
        row = re.fullmatch(r"\s+(.+? \| .+?)\s+(\d+)\s+(\d+|-)\s+(\d+|-)\s+(\d+|-)\s*", line)
        if row and row.group(1).startswith(prefix) and row.group(3) != "-":
            changed.append(row.group(1))
    return changed


def test_a_second_converge_reports_zero_changes(mailvm: MailVm) -> None:
    began = time.monotonic()
    lines = lifecycle.converge()
    TIMINGS["noop_converge_s"] = time.monotonic() - began
    _, changed, errors, _ = grand_total(lines)
    assert (changed, errors) == (0, 0), [line for line in lines if re.search(r"\s1\s+1\s+-\s+-", line)]


def test_a_hand_edited_file_is_put_back_and_then_nothing_changes(mailvm: MailVm) -> None:
    before = mailvm.run("sha256sum /etc/postfix/main.cf").stdout
    mailvm.run("echo 'smtpd_banner = edited by hand' >> /etc/postfix/main.cf")
    operations, changed, errors, _ = grand_total(lifecycle.converge())
    assert errors == 0 and changed >= 1 and operations > 30
    assert mailvm.run("sha256sum /etc/postfix/main.cf").stdout == before
    assert mailvm.run("postconf -h smtpd_banner").stdout.strip() == "$myhostname ESMTP"
    assert grand_total(lifecycle.converge())[1:3] == (0, 0)

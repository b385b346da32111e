"""Check 9: converging an already converged VM changes nothing."""

from __future__ import annotations

import re
import time

from february.vm import lifecycle
from tests.vm.conftest import TIMINGS
from tests.vm.mailvm import MailVm


def grand_total(lines: list[str]) -> tuple[int, int, int, int]:
    """pyinfra's summary row: operations, changed, errors, unchanged ('-' is 0)."""
    row = next(line for line in reversed(lines) if "Grand total" in line)
    cells = re.findall(r"\s(\d+|-)(?=\s|$)", row)
    hosts, changed, errors, unchanged = (0 if cell == "-" else int(cell) for cell in cells[-4:])
    return hosts, changed, errors, unchanged


def test_a_second_converge_reports_zero_changes(mailvm: MailVm) -> None:
    began = time.monotonic()
    lines = lifecycle.converge()
    TIMINGS["noop_converge_s"] = time.monotonic() - began
    operations, changed, errors, unchanged = grand_total(lines)
    assert (changed, errors) == (0, 0), [line for line in lines if re.search(r"\s1\s+1\s+-\s+-", line)]
    assert operations == unchanged > 30

"""Under CI (CI=true) a skipped test fails the run.

A test skips when this machine lacks what it needs (doveconf, packer, ...);
in CI that means the CI machine is set up wrong (tools/host-packages.txt,
./bootstrap), and a green run would hide tests that never ran. Locally a
skip stays a skip. Loaded from tests/conftest.py.
"""

from __future__ import annotations

import os

import pytest

SKIPPED: list[str] = []


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if in_ci() and SKIPPED and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if in_ci() and SKIPPED:
        terminalreporter.write_line(
            f"CI=true: {len(SKIPPED)} skipped test(s) fail the run (install what they need: ./bootstrap): " + ", ".join(SKIPPED),
            red=True,
        )

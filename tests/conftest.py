"""Shared fixtures: a valid settings layer with its secret files made at test time."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from february.site import hash_password

pytest_plugins = ["tests.vm.fixtures", "tests.ci_skips"]


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o700)
    for name, value in {
        "smarthost.password": "relay-secret-generated-at-test-time",
        "alice.hash": hash_password("alice-generated-at-test-time"),
    }.items():
        path = folder / name
        path.write_text(value + "\n")
        path.chmod(0o600)
    return folder


@pytest.fixture
def sample(secrets_dir: Path) -> dict[str, Any]:
    """Settings equal to the seed article's, with one mailbox and one alias."""
    return {
        "hostname": "mail.yourdomain.com",
        "domain": "yourdomain.com",
        "virtual_domains": ["yourdomain.com"],
        "mailboxes": {"you@yourdomain.com": {"hashed_password_file": str(secrets_dir / "alice.hash")}},
        "aliases": {"postmaster@yourdomain.com": ["you@yourdomain.com"]},
        "smarthost": {
            "host": "smtp.fastmail.com",
            "port": 587,
            "username": "you@fastmail.com",
            "password_file": str(secrets_dir / "smarthost.password"),
        },
    }


# Files that run at the end, in this order (the rest keep pytest's order): a
# cut-short bake needs the base layer, which the background bake builds first
# when the image cache is empty (68 s, meanwhile the unit and VM tests run); the
# golden image's own tests wait for the bake, which runs meanwhile in the
# background (tests/image/conftest.py); the ACME and fault tests break the
# outside world for a while, so they wait for the owner's new box, which is
# converged in the background meanwhile, and come late so that it is done
# (tests/vm/fixtures.py's world_to_itself); the health check judges everything
# the VM tests did to the session's VM; the owner's path then ends that VM for
# good (it is the server that dies). (Running the ACME and fault files first
# instead, with the owner's box started after their world-holding tests, was
# tried in stop 36: the box then booted beside the heaviest VM tests, took over
# 600 s to answer SSH and failed the owner's path.)
RUN_LAST = (
    "tests/image/test_packer_stream.py",
    "tests/image/test_artifacts.py",
    "tests/image/test_secrets.py",
    "tests/vm/test_acme.py",
    "tests/vm/test_faults.py",
    "tests/vm/test_health.py",
    "tests/image/test_owner_path.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the RUN_LAST files to the end, in RUN_LAST's order."""

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return RUN_LAST.index(path) + 1 if path in RUN_LAST else 0

    items.sort(key=rank)  # stable: the order within each rank stays


# Seconds spent per test file (setup, call and teardown, fixtures included): the phases of a run.
PHASES: dict[str, float] = {}
# When each test file's first test started and its last one ended (seconds since the epoch): a run's timeline.
SPANS: dict[str, tuple[float, float]] = {}


def cpu_ticks() -> tuple[int, int]:
    """(busy, all) ticks of every CPU of this machine since it booted (/proc/stat; a guest's time counts as user time)."""
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in Path("/proc/stat").read_text().split()[1:9])
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


# How busy the machine's CPUs were while each test file ran (busy and all ticks, the gaps before its
# tests included): where the run waits on nothing but the clock, and where on the CPU.
CPU: dict[str, tuple[int, int]] = {}
_LAST_CPU = [cpu_ticks()]


def pytest_runtest_logfinish(nodeid: str) -> None:
    now = cpu_ticks()
    before, _LAST_CPU[0] = _LAST_CPU[0], now
    path = nodeid.split("::", 1)[0]
    busy, every = CPU.get(path, (0, 0))
    CPU[path] = (busy + now[0] - before[0], every + now[1] - before[1])


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    PHASES[path] = PHASES.get(path, 0.0) + report.duration
    first, _ = SPANS.get(path, (report.start, report.stop))
    SPANS[path] = (first, report.stop)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the VM's measured times (boot, cold and no-op converge) and the time per test file at the end of every run."""
    from tests.vm.fixtures import TIMINGS

    if TIMINGS:
        terminalreporter.write_line("VM timings: " + ", ".join(f"{k}={v:.1f}s" for k, v in TIMINGS.items()))
    if any(last - first >= 5 for first, last in SPANS.values()):
        began = min(first for first, _ in SPANS.values())
        terminalreporter.write_line(
            "Timeline (seconds since the first test, start-end): "
            + ", ".join(
                f"{path.removeprefix('tests/')}={first - began:.0f}-{last - began:.0f}"
                for path, (first, last) in SPANS.items()
                if last - first >= 5
            )
        )
    slow = {path: seconds for path, seconds in PHASES.items() if seconds >= 5}
    if slow:
        terminalreporter.write_line(
            "Time per test file (5 s or more): "
            + ", ".join(f"{path.removeprefix('tests/')}={seconds:.0f}s" for path, seconds in slow.items())
        )
    if CPU and slow:
        busy, every = (sum(ticks) for ticks in zip(*CPU.values(), strict=True))
        terminalreporter.write_line(
            f"CPU busy, all of this machine's {os.cpu_count()} (whole run {100 * busy / max(every, 1):.0f} %), per test file of 5 s or more: "
            + ", ".join(
                f"{path.removeprefix('tests/')}={100 * b / max(e, 1):.0f}%" for path, (b, e) in CPU.items() if path in slow
            )
        )

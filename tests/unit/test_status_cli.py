"""`february status`: the host's report rendered under headings, as JSON, and the exit status it gives."""

from __future__ import annotations

import json
from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from february import cli, generations
from february import status as status_cli
from february.remote import RemoteError
from pyinfra_deploys.host import february_status
from pyinfra_deploys.host.february_status import ERROR, OK, WARNING
from pyinfra_deploys.settings import load_settings
from pyinfra_deploys.stamp import settings_digest

# ----- `february status`: rendering and exit status -----

REPORT = [
    february_status.result("Services", "postfix", OK, "active"),
    february_status.result("Services", "dovecot", ERROR, "failed"),
    february_status.result("Disk", "mail store", WARNING, "25 % free (2.0 GiB) on /var/vmail"),
]


def test_the_report_is_rendered_under_headings_with_marks() -> None:
    out = StringIO()
    status_cli.render(REPORT, Console(file=out, width=100, color_system=None), title="mail (mail.example.test)")
    assert out.getvalue().splitlines() == [
        "mail (mail.example.test)",
        "Services",
        "  ✓ postfix: active",
        "  ✖ dovecot: failed",
        "Disk",
        "  ! mail store: 25 % free (2.0 GiB) on /var/vmail",
        "1 ok, 1 warning, 1 error",
    ]


def test_a_report_of_another_shape_names_the_host() -> None:
    assert status_cli.parse_report("mail", json.dumps(REPORT)) == REPORT
    with pytest.raises(RemoteError, match=r"mail: .* printed no report"):
        status_cli.parse_report("mail", "sudo: a password is required")
    with pytest.raises(RemoteError, match="another shape"):
        status_cli.parse_report("mail", json.dumps([{"section": "S", "name": "n", "level": "fine", "message": "m"}]))


@pytest.mark.parametrize(("report", "code"), [(REPORT[:1], 0), (REPORT[:1] + REPORT[2:], 1), (REPORT, 2)])
def test_the_command_exits_with_the_worst_level(
    monkeypatch: pytest.MonkeyPatch, sample: dict[str, Any], report: list[dict[str, str]], code: int
) -> None:
    found = SimpleNamespace(name="mail", settings=load_settings(sample))
    monkeypatch.setattr(cli, "_host", lambda inventory, host, check_files=True: found)
    monkeypatch.setattr(status_cli, "fetch", lambda host: list(report))
    # The host's current generation was made from these settings: one more line, ok.
    current = {"number": 2, "reason": "converge", "current": True, "settings_digest": settings_digest(found.settings)}
    monkeypatch.setattr(generations, "listing", lambda host: [current])
    shown = CliRunner().invoke(cli.app, ["status", "-i", "inventory/hosts.py"])
    assert shown.exit_code == code, shown.output
    assert "✓ current: generation 2 (converge), from this inventory's settings" in shown.output
    assert "mail (mail.yourdomain.com)" in shown.output and "✓ postfix: active" in shown.output
    as_json = CliRunner().invoke(cli.app, ["status", "--json"])
    assert as_json.exit_code == code and json.loads(as_json.output)[:-1] == report


def test_a_host_without_generations_is_a_warning(monkeypatch: pytest.MonkeyPatch, sample: dict[str, Any]) -> None:
    found = SimpleNamespace(name="mail", settings=load_settings(sample))
    monkeypatch.setattr(cli, "_host", lambda inventory, host, check_files=True: found)
    monkeypatch.setattr(status_cli, "fetch", lambda host: REPORT[:1])

    def missing(host: Any) -> list[dict[str, Any]]:
        raise RemoteError("mail: listing generations exited 127:  (converge the host first: february deploy)")

    monkeypatch.setattr(generations, "listing", missing)
    shown = CliRunner().invoke(cli.app, ["status", "-i", "inventory/hosts.py"])
    assert shown.exit_code == 1 and "! current: mail: listing generations exited 127" in shown.output


def test_fetch_runs_the_script_with_its_configuration_and_reads_every_exit_status(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from pyinfra_deploys import layout

    answers: list[subprocess.CompletedProcess[str]] = []
    commands: list[str] = []

    def run(found: Any, command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        return answers.pop(0)

    monkeypatch.setattr(status_cli, "run", run)
    found: Any = SimpleNamespace(name="mail")
    answers.append(subprocess.CompletedProcess([], 2, json.dumps(REPORT), ""))
    assert status_cli.fetch(found) == REPORT  # exit 2 is a report with errors, not a failure
    assert commands == [f"{layout.STATUS_SCRIPT} {layout.STATUS_CONFIG}"]
    answers.append(subprocess.CompletedProcess([], 127, "", f"sh: 1: {layout.STATUS_SCRIPT}: not found\n"))
    with pytest.raises(RemoteError, match=r"exited 127: .*not found \(converge the host first"):
        status_cli.fetch(found)
    answers.append(subprocess.CompletedProcess([], 1, "", "Traceback ...\nKeyError: 'hostname'\n"))
    with pytest.raises(RemoteError, match=r"KeyError: 'hostname'$"):
        status_cli.fetch(found)
    answers.append(subprocess.CompletedProcess([], 255, "", "ssh: connect to host mail port 22: Connection refused\n"))
    with pytest.raises(RemoteError, match=r"exited 255: ssh: connect to host mail port 22: Connection refused$"):
        status_cli.fetch(found)


def test_a_resolver_that_is_not_an_address_is_refused_before_anything_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_host(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the host was asked for")

    monkeypatch.setattr(cli, "_host", no_host)
    shown = CliRunner().invoke(cli.app, ["status", "--resolver", "dns.example.test"])
    assert shown.exit_code == 2 and "is not an IP address" in shown.output

"""`february status` on the VM: the host's own checks, run over SSH, rendered here, with their exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from february.paths import REPO
from february.vm.lifecycle import VM_INVENTORY
from pyinfra_deploys import layout
from tests.vm.mailvm import MailVm

FEBRUARY = Path(sys.executable).parent / "february"
# The VM has no package lists (the image carries none and its network is closed):
# whether security updates are pending is unknown there, which is a warning.
OFFLINE = {("System", "security updates"): ("warning", "unknown: no package lists")}


def status(mailvm: MailVm, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FEBRUARY_VM": mailvm.config.name}
    return subprocess.run(
        [str(FEBRUARY), "status", "-i", str(VM_INVENTORY), *args], capture_output=True, text=True, cwd=REPO, env=env, timeout=300
    )


def report(mailvm: MailVm) -> tuple[int, dict[tuple[str, str], tuple[str, str]]]:
    done = status(mailvm, "--json")
    found: list[dict[str, Any]] = json.loads(done.stdout)
    return done.returncode, {(item["section"], item["name"]): (item["level"], item["message"]) for item in found}


def test_a_healthy_vm_is_all_green_but_for_what_an_offline_host_cannot_know(mailvm: MailVm) -> None:
    mailvm.run(f"{layout.BACKUP_SCRIPT} run")  # a backup of its own, not one left by another test
    code, found = report(mailvm)
    not_ok = {key: value for key, value in found.items() if value[0] != "ok"}
    assert not_ok == OFFLINE
    assert code == 1  # that one warning
    for service in (*layout.MAIL_SERVICES, layout.REDIS_SERVICE):
        assert found[("Services", service)] == ("ok", "active")
    assert {name for section, name in found if section == "Ports"} == {"smtp (25)", "submission (587)", "imaps (993)"}
    assert found[("Generation", "current")][0] == "ok"  # made from inventory/vm.py's settings


def test_the_report_reads_as_headings_and_marks(mailvm: MailVm) -> None:
    done = status(mailvm)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    for heading in ("Services", "Ports", "Certificate", "Backup", "System"):
        assert heading in lines
    assert any(line.startswith("  ✓ dovecot: active") for line in lines), done.stdout
    assert any(line.startswith("  ! security updates:") for line in lines), done.stdout


def test_a_stopped_dovecot_turns_its_lines_red_and_the_exit_status_2(mailvm: MailVm) -> None:
    mailvm.run("systemctl stop dovecot")
    try:
        code, found = report(mailvm)
    finally:
        mailvm.run("systemctl start dovecot")
    assert code == 2
    assert found[("Services", "dovecot")][0] == "error"
    assert found[("Ports", "imaps (993)")][0] == "error"
    assert found[("Services", "postfix")] == ("ok", "active")
    _, again = report(mailvm)
    assert again[("Services", "dovecot")] == ("ok", "active")


def test_the_delivery_probe_goes_through_postfix_into_the_mailbox_and_is_deleted(mailvm: MailVm) -> None:
    """What a switch's checks add (`--deliver`): a message through Postfix and LMTP, seen by Dovecot, then gone."""
    done = mailvm.run(f"{layout.STATUS_SCRIPT} {layout.STATUS_CONFIG} --deliver", check=False)
    delivery = [r for r in json.loads(done.stdout) if r["section"] == "Delivery"]
    assert [(r["name"], r["level"]) for r in delivery] == [("local delivery", "ok")], delivery
    token = delivery[0]["message"].split()[1]
    assert delivery[0]["message"].startswith(f"probe {token} reached alice@example.test in ")
    # Postfix's cleanup logged it (the milter saw it there), and Dovecot no longer has it.
    assert f"message-id=<{token}@example.test>" in mailvm.run(f"journalctl -q -u 'postfix*' -g {token} -o cat").stdout
    found = mailvm.run(f"doveadm search -u alice@example.test mailbox '*' header X-February-Probe {token}").stdout
    assert found.strip() == ""
    # Without --deliver (february status, the daily run) nothing is sent.
    plain = json.loads(mailvm.run(f"{layout.STATUS_SCRIPT} {layout.STATUS_CONFIG}", check=False).stdout)
    assert "Delivery" not in {r["section"] for r in plain}

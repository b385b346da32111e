"""`february status` on the VM: the host's own checks, run over SSH, rendered here, with their exit status."""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import time
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from february.dns_records import zone_lines
from february.vm import lifecycle
from february.vm.lifecycle import VM_INVENTORY
from february.vm.world_process import write_zone
from pyinfra_deploys import layout
from tests.cli import february
from tests.vm.mailvm import MailVm

# The VM has no package lists (the image carries none and its network is closed):
# whether security updates are pending is unknown there, which is a warning.
OFFLINE = {("System", "security updates"): ("warning", "unknown: no package lists")}


def status(mailvm: MailVm, *args: str) -> subprocess.CompletedProcess[str]:
    return february("status", "-i", str(VM_INVENTORY), *args, env={"FEBRUARY_VM": mailvm.config.name}, timeout=300)


def report(mailvm: MailVm, *args: str) -> tuple[int, dict[tuple[str, str], tuple[str, str]]]:
    done = status(mailvm, "--json", *args)
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
    with mailvm.dovecot_stopped():
        code, found = report(mailvm)
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


def test_the_records_as_the_fake_dns_publishes_them_and_a_dkim_key_that_is_not_the_hosts(mailvm: MailVm) -> None:
    resolver = f"127.0.0.1:{mailvm.config.dns_port}"
    _, found = report(mailvm, "--resolver", resolver)
    published = {name: level for (section, name), (level, _) in found.items() if section == "DNS"}
    assert published == dict.fromkeys(
        ["A mail.example.test", "MX example.test", "SPF example.test", "DKIM example.test", "DMARC example.test"], "ok"
    )
    # The DNS still publishes the key of a host that was rebuilt without its backup.
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = other.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    host = lifecycle.vm_host(mailvm.config)
    stale = {"example.test": f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"}
    write_zone("\n".join(zone_lines(host.settings, stale, lifecycle.LAB_PUBLIC_ADDRESS)) + "\n")
    try:
        code, found = report(mailvm, "--resolver", resolver)
    finally:
        lifecycle.publish_dns(mailvm.config)
    assert code == 2
    assert found[("DNS", "DKIM example.test")] == (
        "error",
        "the published key is not the host's: receivers will fail its signatures",
    )
    assert found[("DNS", "MX example.test")][0] == "ok"


def wait_for_notice(mailvm: MailVm, change: str, timeout: float = 90) -> str:
    """The change notice in the postmaster's mailbox (postmaster@example.test is alice's alias) whose body says ``change``."""
    query = f"mailbox INBOX header Subject 'February status of mail.example.test changed' body {shlex.quote(change)}"
    deadline = time.monotonic() + timeout
    while True:
        found = mailvm.run(f"doveadm search -u alice@example.test {query}").stdout.split()
        if found:
            return mailvm.run(f"doveadm fetch -u alice@example.test text mailbox INBOX uid {found[-1]}").stdout
        assert time.monotonic() < deadline, f"no notice saying {change!r} after {timeout:.0f} s"
        time.sleep(2)


def daily_run(mailvm: MailVm, before: str = "true") -> str:
    """Start the daily unit (after ``before``) and return what that run printed last, its summary.

    Read by the run's invocation id, and waited for: journald takes a unit's
    output from a stream, so it may land after `systemctl start` returns.
    """
    service = layout.STATUS_SERVICE
    invocation = mailvm.run(f"{before} && systemctl start {service} && systemctl show -p InvocationID --value {service}")
    query = f"journalctl -q _SYSTEMD_INVOCATION_ID={invocation.stdout.strip()} -o cat"
    deadline = time.monotonic() + 30
    while True:
        printed = [line for line in mailvm.run(query).stdout.splitlines() if "mailed" in line]
        if printed:
            return printed[-1]
        assert time.monotonic() < deadline, f"the daily run printed no summary: {query}"
        time.sleep(1)


def test_the_daily_run_mails_the_postmaster_when_a_level_changes(mailvm: MailVm) -> None:
    assert mailvm.run(
        f"systemctl is-enabled {layout.STATUS_TIMER}; systemctl is-active {layout.STATUS_TIMER}"
    ).stdout.split() == [
        "enabled",
        "active",
    ]
    # The first run tells what is not ok: on this offline VM, the unknown security updates.
    first = daily_run(mailvm, f"rm -f {layout.STATUS_LAST} {layout.REBOOT_REQUIRED}")
    assert "change(s) mailed to postmaster@example.test" in first, first
    assert "System: security updates: warning" in wait_for_notice(mailvm, "System: security updates: warning")
    assert daily_run(mailvm).endswith("unchanged, nothing mailed")
    # A kernel update asks for a reboot: the next run says so, and again when it is gone.
    mailvm.run(f"echo linux-image-generic > {layout.REBOOT_REQUIRED}.pkgs && touch {layout.REBOOT_REQUIRED}")
    try:
        assert "change(s) mailed" in daily_run(mailvm)
    finally:
        mailvm.run(f"rm -f {layout.REBOOT_REQUIRED} {layout.REBOOT_REQUIRED}.pkgs")
    notice = wait_for_notice(mailvm, "System: reboot: ok -> warning")
    assert "! System: reboot: required" in notice and "linux-image-generic" in notice
    assert "change(s) mailed" in daily_run(mailvm)
    wait_for_notice(mailvm, "System: reboot: warning -> ok")


def test_a_relay_that_cannot_be_used_is_red_in_the_relays_own_words(mailvm: MailVm) -> None:
    """The host's relay check, with the relay as a changed port, a rotated password or another CA would leave it."""
    config = json.loads(mailvm.run(f"cat {layout.STATUS_CONFIG}").stdout)
    relay = config["relay"]
    wrong_password, moved = "/root/relay-check-wrong-password", "/root/relay-check-moved"
    mailvm.run(
        f"sed 's/:[^:]*$/:rotated-at-the-provider/' {relay['credentials']} > {wrong_password} && chmod 600 {wrong_password}"
    )
    # The map as a deploy renders it for another port: keyed [host]:port.
    mailvm.run(f"sed 's/^\\(\\[[^]]*\\]\\):[0-9]*/\\1:2526/' {relay['credentials']} > {moved} && chmod 600 {moved}")
    cases = {
        "port": ({"port": 2526, "credentials": moved}, "connect to relay.example.net:2526: "),
        "password": ({"credentials": wrong_password, "port": relay["port"]}, "the relay refused the login: 535"),
        "CA": ({"ca_file": layout.SYSTEM_CA}, "TLS: the relay's certificate does not verify: "),
    }
    for what, (change, said) in cases.items():
        broken = {**config, "relay": {**relay, **change}}
        mailvm.run(f"printf %s {shlex.quote(json.dumps(broken))} > /root/relay-check.json")
        done = mailvm.run(f"{layout.STATUS_SCRIPT} /root/relay-check.json", check=False)
        [line] = [r for r in json.loads(done.stdout) if r["section"] == "Relay"]
        assert line["level"] == "error" and line["message"].startswith(said), (what, line)
        assert done.returncode == 2
        assert "rotated-at-the-provider" not in done.stdout
    mailvm.run(f"rm -f {wrong_password} {moved} /root/relay-check.json")
    _, found = report(mailvm)
    [(level, message)] = [value for key, value in found.items() if key[0] == "Relay"]
    assert level == "ok" and "certificate verified, login accepted" in message, message

"""Faults the server holds through, with nothing lost, and no err-level journal line after any of them.

The relay down (and a reboot while mail waits for it), Rspamd stopped,
Dovecot stopped, the queue's filesystem nearly full, and several hundred
inbound messages over parallel sessions. Postfix retries deferred mail on
its own schedule (minimal_backoff_time, 300 s); the tests flush the queue
(`postqueue -f`, what an owner runs) instead of waiting for it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest

from february.vm import lifecycle, qemu
from february.vm.lifecycle import vm_settings
from february.vm.world_process import start_world, stop_world
from pyinfra_deploys import layout
from tests.vm.burst import send_burst, wait_until_landed
from tests.vm.mailvm import MailVm, message
from tests.vm.test_reconverge import grand_total
from tests.vm.test_status import report

FILL = "/var/tmp/february-queue-fill"


def assert_no_errors_since(vm: MailVm, since: str) -> None:
    assert vm.journal_errors(since) == ""


def queue(vm: MailVm) -> list[dict]:
    """The queue as `postqueue -j` gives it: one record per message."""
    return [json.loads(line) for line in vm.run("postqueue -j").stdout.splitlines() if line.strip()]


def wait_for_deferred(vm: MailVm, recipients: set[str], timeout: float = 180) -> list[dict]:
    """Wait until a message to each of ``recipients`` sits in the deferred queue with a reason."""
    deadline = time.monotonic() + timeout
    while True:
        deferred = [m for m in queue(vm) if m["queue_name"] == "deferred"]
        waiting = {r["address"] for m in deferred for r in m["recipients"] if r.get("delay_reason")}
        if recipients <= waiting:
            return deferred
        assert time.monotonic() < deadline, f"not deferred: {recipients - waiting}; queue: {queue(vm)}"
        time.sleep(2)


def wait_until_started(vm: MailVm) -> None:
    """Until systemd has started everything it starts at boot."""
    vm.run("systemctl is-system-running --wait", check=False)


def services_active(vm: MailVm) -> dict[str, str]:
    names = ("postfix", "dovecot", "rspamd", "redis-server")  # the units behind MailVm.MAIL_UNITS
    states = vm.run(f"systemctl is-active {' '.join(names)}", check=False).stdout.split()
    return dict(zip(names, states, strict=True))


def boot_clock(vm: MailVm, unit: str, moment: str) -> int:
    """When ``unit`` passed ``moment`` in this boot, in microseconds since it began (0: not yet)."""
    return int(vm.run(f"systemctl show --value -p {moment} {unit}").stdout.strip())


@pytest.fixture
def relay_down(mailvm: MailVm, world_to_itself: None) -> Iterator[None]:
    stop_world(mailvm.config)
    try:
        yield
    finally:
        start_world(mailvm.config)


def test_mail_waits_for_a_relay_that_is_down_through_a_reboot_then_all_of_it_is_relayed(mailvm: MailVm, relay_down: None) -> None:
    since = mailvm.now()
    tag = uuid.uuid4().hex[:8]
    recipients = {f"dave{n}@example.net" for n in range(5)}
    with mailvm.submission("alice@example.test") as client:
        for recipient in sorted(recipients):
            client.send_message(message("alice@example.test", recipient, f"relay down {tag} {recipient}"))
    deferred = wait_for_deferred(mailvm, recipients)
    queued_ids = {m["queue_id"] for m in deferred if any(r["address"] in recipients for r in m["recipients"])}
    assert len(queued_ids) == len(recipients)

    # A reboot (power off, power on) with the queue deferred: the queue is
    # kept, the services come back, a converge changes nothing. And a
    # rollback armed before it (as a deploy arms one) goes on after it: a
    # transient timer does not outlive a reboot, the boot arms it again.
    generation = f"{layout.GENERATION_SCRIPT} {layout.GENERATION_CONFIG}"
    now = mailvm.run(f"{generation} current").stdout.strip()
    mailvm.run(f"{generation} arm 3600 {now} 'automatic rollback: armed before a reboot'")
    qemu.power_cycle(mailvm.config)
    wait_until_started(mailvm)
    resumed = json.loads(mailvm.run(f"cat {layout.ROLLBACK_ARMED}").stdout)
    assert resumed["target"] == int(now) and 0 < resumed["seconds"] < 3600, resumed
    assert mailvm.run(f"systemctl is-active {layout.ROLLBACK_UNIT}.timer").stdout.strip() == "active"
    assert mailvm.run(f"{generation} confirm").stdout.strip() == "confirmed"
    assert mailvm.run(f"systemctl is-active {layout.ROLLBACK_UNIT}.timer", check=False).stdout.strip() == "inactive"
    # The converged host boots without cloud-init (layout.CLOUD_INIT_DISABLED): its name and network are the same.
    assert mailvm.run("cloud-init status", check=False).stdout.split() == ["status:", "disabled"]
    assert mailvm.run("hostname -f").stdout.strip() == "mail.example.test"
    assert {m["queue_id"] for m in queue(mailvm)} >= queued_ids
    assert services_active(mailvm) == dict.fromkeys(("postfix", "dovecot", "rspamd", "redis-server"), "active")
    # Rspamd began to start only once Redis was up (its plugins upload scripts to Redis as they start).
    assert boot_clock(mailvm, "rspamd", "InactiveExitTimestampMonotonic") >= boot_clock(
        mailvm, layout.REDIS_SERVICE, "ActiveEnterTimestampMonotonic"
    )
    assert grand_total(lifecycle.converge())[1:3] == (0, 0)

    # The relay is back: every message goes out.
    start_world(mailvm.config)
    mailvm.run("postqueue -f")
    for recipient in recipients:
        record = mailvm.wait_for_relayed(f"relay down {tag} {recipient}", timeout=180)
        assert record["tls"] is True
    assert not {m["queue_id"] for m in queue(mailvm)} & queued_ids
    assert_no_errors_since(mailvm, since)


def test_inbound_mail_is_delivered_while_rspamd_is_stopped_and_the_next_converge_starts_it(mailvm: MailVm) -> None:
    since = mailvm.now()
    subject = f"rspamd stopped {uuid.uuid4().hex[:8]}"
    mailvm.run("systemctl stop rspamd")
    try:
        with mailvm.smtp() as client:
            client.send_message(message("carol@example.net", "alice@example.test", subject))
        mailvm.wait_for_message("alice@example.test", subject)
        _, changed, errors, _ = grand_total(lifecycle.converge())
        assert errors == 0 and changed >= 1
    finally:
        mailvm.run("systemctl start rspamd")  # a no-op once the converge started it
    assert services_active(mailvm)["rspamd"] == "active"
    assert mailvm.host.socket("tcp://127.0.0.1:11332").is_listening
    assert_no_errors_since(mailvm, since)


def test_lmtp_deliveries_wait_while_dovecot_is_stopped_then_arrive(mailvm: MailVm) -> None:
    since = mailvm.now()
    tag = uuid.uuid4().hex[:8]
    recipients = ["alice@example.test", "bob@example.test"]
    with mailvm.dovecot_stopped():
        with mailvm.smtp() as client:
            for recipient in recipients:
                client.send_message(message("carol@example.net", recipient, f"dovecot stopped {tag}"))
        wait_for_deferred(mailvm, set(recipients))
    mailvm.run("postqueue -f")
    for recipient in recipients:
        mailvm.wait_for_message(recipient, f"dovecot stopped {tag}")
    assert_no_errors_since(mailvm, since)


def test_a_nearly_full_queue_filesystem_answers_4xx_and_loses_nothing(mailvm: MailVm) -> None:
    since = mailvm.now()
    limit = vm_settings().message_size_limit
    subject = f"queue nearly full {uuid.uuid4().hex[:8]}"
    mail = message("carol@example.net", "alice@example.test", subject)
    avail = int(mailvm.run("df -B1 --output=avail /var/spool/postfix | tail -1").stdout)
    # Leave one message_size_limit free: smtpd wants 1.5 times that before it takes a message.
    mailvm.run(f"fallocate -l {avail - limit} {FILL}")
    try:
        with mailvm.smtp() as client:
            code, reply = client.mail("carol@example.net")
        assert code == 452 and b"4.3.1 Insufficient system storage" in reply, reply
        # The owner's report says so: the mail store shares that file system.
        status, found = report(mailvm)
        level, text = found[("Disk", "mail store")]
        assert (status, level) == (2, "error"), text
    finally:
        mailvm.run(f"rm -f {FILL}")
    # The sender kept the message (4xx) and tries again: it lands.
    with mailvm.smtp() as client:
        client.send_message(mail)
    mailvm.wait_for_message("alice@example.test", subject)
    assert_no_errors_since(mailvm, since)


def test_several_hundred_messages_over_parallel_sessions_all_land(mailvm: MailVm) -> None:
    since = mailvm.now()
    tag = f"burst-{uuid.uuid4().hex[:8]}"
    sessions = vm_settings().limits.concurrent_connections - 2  # within the per-client limit on 25
    expected = send_burst(mailvm.config, ["alice@example.test", "bob@example.test"], 300, sessions, tag)
    assert wait_until_landed(mailvm, expected, tag) == dict(expected)
    assert_no_errors_since(mailvm, since)


def test_the_converge_after_the_faults_changes_nothing(mailvm: MailVm) -> None:
    assert grand_total(lifecycle.converge())[1:3] == (0, 0)

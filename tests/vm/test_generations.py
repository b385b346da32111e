"""Generations on the session's VM: one per converge that changed a file, a switch checked as a whole, an automatic rollback.

The runtime failures are settings that pass every static check. The relay
on a port where nothing answers: Postfix would defer every outbound message
(the relay check connects, STARTTLS, AUTH, QUIT, as Postfix would). And: the milter
set to 127.0.0.1:6379, where Redis listens. The settings accept it (a
loopback port), postconf and `rspamadm configtest` accept it, and something
answers on that port (the converge's wait for the milter passes); but it does
not speak the milter protocol, so Postfix would pass mail unscanned and
unsigned. `february deploy` must notice, put the previous generation back and
say which check failed. (Rspamd's own ports are no such failure: on
127.0.0.1:11333 the proxy takes the address from the normal worker, and the
milter works.)

The module leaves the host on the session converge's files and stamp (the
rollback brings both back), so later tests see no change.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from february.paths import REPO
from february.vm import lifecycle
from february.vm.config import SMARTHOST_GUEST_PORT
from pyinfra_deploys import layout
from tests.cli import february
from tests.vm.mailvm import RSPAMD_UPLOAD_TIMEOUT, MailVm, message
from tests.vm.sites import current_generation, generations, vm_inventory_with

WRONG_MILTER = "127.0.0.1:6379"  # Redis (Rspamd's), not a milter
WRONG_RELAY_PORT = 2526  # nothing answers there: the relay as a typo or a provider's moved port leaves it
# What Rspamd logs (at err) while it cannot bind the milter there, restarted by systemd until the rollback.
RSPAMD_CANNOT_BIND = re.compile(
    r" rspamd\[\d+\]: .*(cannot listen on normal socket 127\.0\.0\.1:6379: Address already in use"
    r"|cannot create listen socket for rspamd_proxy at 127\.0\.0\.1:6379|shutting down Rspamd due to fatal error)$"
)


def script(vm: MailVm, *args: str) -> subprocess.CompletedProcess[str]:
    return vm.run(" ".join([layout.GENERATION_SCRIPT, layout.GENERATION_CONFIG, *args]), check=False)


@pytest.fixture(scope="module")
def wrong_milter_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The VM's inventory with the milter on Redis's port and the relay on a port where nothing answers."""

    def change(overrides: dict[str, Any]) -> None:
        overrides["rspamd"]["milter"] = WRONG_MILTER
        overrides["smarthost"]["port"] = WRONG_RELAY_PORT

    return vm_inventory_with(tmp_path_factory.mktemp("wrong-milter"), "wrong_milter", change)


def test_the_session_converge_recorded_a_generation_without_the_state(mailvm: MailVm) -> None:
    listed = generations()
    now = [g for g in listed if g["current"]]
    assert len(now) == 1 and now[0]["reason"] == "converge" and now[0]["files"] > 40
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert now[0]["revision"] == head
    manifest = json.loads(mailvm.run(f"cat {layout.GENERATIONS_DIR}/{now[0]['number']}/manifest.json").stdout)
    assert layout.POSTFIX_MAIN_CF in manifest and layout.DOVECOT_USERS in manifest
    assert not [p for p in manifest if p.startswith(layout.STATE_PATHS)]
    assert mailvm.host.file(layout.GENERATIONS_DIR).mode == 0o700


def test_a_switch_to_a_set_that_fails_validation_changes_nothing_and_reloads_nothing(mailvm: MailVm) -> None:
    good = current_generation()["number"]
    before = mailvm.run(f"sha256sum {layout.POSTFIX_MAIN_CF}").stdout
    # A hand edit recorded as a generation: an unknown parameter, which postconf warns about.
    mailvm.run(f"echo 'february_test_unknown = 1' >> {layout.POSTFIX_MAIN_CF}")
    assert script(mailvm, "record", "test", "0", "test", "hand-edit").stdout.strip() == f"recorded {good + 1}"
    assert script(mailvm, "switch", str(good), "back").returncode == 0
    assert mailvm.run(f"sha256sum {layout.POSTFIX_MAIN_CF}").stdout == before
    # From the journal's position after the switch back's reload (journalctl --sync: all sent to
    # journald is stored), not from a whole second of the clock.
    cursor = mailvm.run("journalctl --sync && journalctl -q -n 1 --show-cursor -o cat").stdout.rsplit("-- cursor: ", 1)[1].strip()
    refused = script(mailvm, "switch", str(good + 1), "forward")
    assert refused.returncode == 2
    assert "validation failed" in refused.stderr and "february_test_unknown" in refused.stderr
    assert mailvm.run(f"sha256sum {layout.POSTFIX_MAIN_CF}").stdout == before
    after = mailvm.run(f"journalctl --sync && journalctl -q -u postfix --after-cursor {shlex.quote(cursor)} -o cat")
    assert "reload" not in after.stdout.lower()
    assert [g["reason"] for g in generations()][-1] == "back"  # the refused switch recorded nothing


def test_a_converge_that_leaves_the_milter_failing_is_rolled_back(mailvm: MailVm, wrong_milter_inventory: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    with mailvm.smtp() as client:
        client.send_message(message("carol@example.net", "alice@example.test", f"before the switch {tag}"))
    mailvm.wait_for_message("alice@example.test", f"before the switch {tag}")
    good = current_generation()

    since = mailvm.now()
    done = february("deploy", str(wrong_milter_inventory))
    until = mailvm.now()
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-2000:]
    # Smtpd waits for the milter before its greeting, so port 25 fails its check as well.
    assert f"failed check: Rspamd: milter: {WRONG_MILTER} answers, but not as a milter" in done.stdout, done.stdout[-3000:]
    # The relay is checked as Postfix uses it: nothing answers on the new port.
    assert f"failed check: Relay: relay.example.net:{WRONG_RELAY_PORT}: connect to relay.example.net:" in done.stdout
    verified = "verified: Delivery, Ports, Relay, Rspamd, Services"
    assert f"is on generation {good['number']}'s files: {verified}" in done.stdout, done.stdout[-3000:]

    last = generations()[-1]
    assert last["current"] and last["reason"].startswith("automatic rollback: ")
    # Rspamd failed loudly, and nothing else did; test_health judges the rest of the session.
    # (An Rspamd starting on the starved VM may time out uploading its scripts to Redis:
    # journal_errors leaves out each such line the same process's retry healed; one of the
    # restart loop's processes, stopped by its bind error before its retry, is part of the loop.)
    errors = mailvm.journal_errors(since).splitlines()
    assert any(RSPAMD_CANNOT_BIND.search(line) for line in errors), errors
    assert all(RSPAMD_CANNOT_BIND.search(line) or RSPAMD_UPLOAD_TIMEOUT.search(line) for line in errors), errors
    mailvm.excuse(since, until, RSPAMD_CANNOT_BIND)
    mailvm.excuse(since, until, RSPAMD_UPLOAD_TIMEOUT)
    assert mailvm.run("postconf -h smtpd_milters").stdout.strip() == "inet:127.0.0.1:11332"
    status = json.loads(mailvm.run(f"{layout.STATUS_SCRIPT} {layout.STATUS_CONFIG}", check=False).stdout)
    assert [r["level"] for r in status if r["name"] == "milter" or r["section"] == "Relay"] == ["ok", "ok"]

    with mailvm.smtp() as client:
        client.send_message(message("carol@example.net", "alice@example.test", f"after the rollback {tag}"))
    mailvm.wait_for_message("alice@example.test", f"after the rollback {tag}")
    with mailvm.submission("alice@example.test") as client:
        client.send_message(message("alice@example.test", "dave@example.net", f"signed after the rollback {tag}"))
    assert "DKIM-Signature:" in mailvm.wait_for_relayed(f"signed after the rollback {tag}")["data"]


def test_a_relay_that_refuses_the_new_password_is_rolled_back_in_its_own_words(mailvm: MailVm, tmp_path: Path) -> None:
    """The provider rotated the app password: every static check passes, the relay refuses the login.

    The relay check's other words (a port where nothing answers, a certificate from another CA)
    come from the same check on the host: test_status proves them on this VM, the unit tests
    (tests/unit/test_relay_check.py) against the fake relay; one deploy per fault would add
    two minutes of the session's VM each and prove the same rollback again.
    """
    password = tmp_path / "rotated.password"
    password.write_text(f"rotated-at-the-provider-{uuid.uuid4().hex}\n")
    password.chmod(0o600)

    def change(overrides: dict[str, Any]) -> None:
        overrides["smarthost"]["password_file"] = str(password)

    inventory = vm_inventory_with(tmp_path, "relay_fault", change)
    good = current_generation()
    done = february("deploy", str(inventory))
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-2000:]
    said = "the relay refused the login: 535"
    assert f"failed check: Relay: relay.example.net:{SMARTHOST_GUEST_PORT}: {said}" in done.stdout, done.stdout[-3000:]
    assert "rotated-at-the-provider" not in done.stdout + done.stderr
    assert f"is on generation {good['number']}'s files" in done.stdout, done.stdout[-3000:]
    last = generations()[-1]
    assert last["current"] and last["reason"].startswith("automatic rollback: ")
    # The host's own relay check agrees again, and mail goes out through the relay as before.
    status = json.loads(mailvm.run(f"{layout.STATUS_SCRIPT} {layout.STATUS_CONFIG}", check=False).stdout)
    assert [r["level"] for r in status if r["section"] == "Relay"] == ["ok"]
    subject = f"relayed after the password rollback {uuid.uuid4().hex[:8]}"
    with mailvm.submission("alice@example.test") as client:
        client.send_message(message("alice@example.test", "dave@example.net", subject))
    assert mailvm.wait_for_relayed(subject)["tls"] is True


def test_the_rolled_back_host_shows_the_way_forward_and_no_change_for_its_own_inventory(
    mailvm: MailVm, wrong_milter_inventory: Path
) -> None:
    before = mailvm.run(f"sha256sum {layout.POSTFIX_MAIN_CF} {layout.rspamd_local('worker-proxy.inc')}").stdout
    forward = february("diff", "-i", str(wrong_milter_inventory))
    assert forward.returncode == 1, forward.stdout[-3000:] + forward.stderr[-2000:]
    assert f"+ smtpd_milters = inet:{WRONG_MILTER}" in forward.stdout, forward.stdout[-3000:]
    assert "- smtpd_milters = inet:127.0.0.1:11332" in forward.stdout
    assert "systemctl restart rspamd" in forward.stdout and "postfix reload" in forward.stdout
    assert mailvm.run(f"sha256sum {layout.POSTFIX_MAIN_CF} {layout.rspamd_local('worker-proxy.inc')}").stdout == before
    # The rollback brought the session converge's stamp back: for the VM's own inventory, nothing to do.
    same = february("diff", "-i", str(lifecycle.VM_INVENTORY))
    assert same.returncode == 0 and "no change" in same.stdout, same.stdout[-3000:] + same.stderr[-2000:]

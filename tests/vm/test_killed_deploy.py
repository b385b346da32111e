"""A deploy cut short: the owner's laptop dies, or Ctrl-C, at three points of `february deploy`.

Each cut is a SIGKILL of the whole `february deploy` process group (no
cleanup of its own runs), when its output reaches:

- during the uploads: the Postfix role starts placing main.cf, after
  Dovecot's files went up;
- between the roles: the image phase is placed, the host phase (reloads,
  restarts) has not begun;
- between the switch and the confirmation: the converge and the host's
  checks passed, no new SSH connection has confirmed yet.

After each cut, what is live is a configuration each service accepts (files
are written beside and renamed over, never half-written where read), and
the next `february deploy` converges, is confirmed, and mail flows. The
module leaves the host on the session's settings.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from february.paths import REPO
from february.vm import lifecycle
from pyinfra_deploys import layout
from pyinfra_deploys.operations import placed
from pyinfra_deploys.roles import dovecot, postfix
from tests.cli import february
from tests.vm.mailvm import MailVm, message
from tests.vm.sites import current_generation, vm_inventory_with

# The output line each cut waits for (pyinfra's on stdout, february's stages on stderr).
CUTS = {
    "during the uploads": f"--> Starting operation: Image: Postfix | Place {layout.POSTFIX_MAIN_CF}",
    "between the roles": "--> Starting operation: Host: ",
    "between the switch and the confirmation": "✓ Checks of ",
}
PARTIAL = f"-name '.*{placed.PARTIAL_SUFFIX}'"  # what partial_path names, hidden beside its target


def deploy_cut_at(inventory: Path, marker: str) -> str:
    """Run `february deploy INVENTORY` and SIGKILL its process group when a line contains ``marker``; its output."""
    process = subprocess.Popen(
        [sys.executable, "-m", "february", "deploy", str(inventory)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # Each line as it is printed (pyinfra's too, a process of its own): the cut lands where it says.
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait(timeout=600)
    output = "".join(seen)
    assert process.returncode == -signal.SIGKILL, f"the deploy ended before {marker!r}:\n{output[-3000:]}"
    return output


def live_configuration_is_accepted(mailvm: MailVm) -> None:
    """Postfix's and Dovecot's own checks (the ones a switch validates with) pass on what is live now."""
    for check in (*postfix.CHECKS, *dovecot.CHECKS):
        done = mailvm.run(check, check=False)
        assert done.returncode == 0, f"{check}: {done.stdout}{done.stderr}"


def live_limits(mailvm: MailVm) -> tuple[str, str]:
    """The two changed settings as the services read them now: Dovecot's auth_failure_delay, Postfix's rate limit."""
    delay = mailvm.run("doveconf -h auth_failure_delay").stdout.split()[0]
    return delay, mailvm.run("postconf -h smtpd_client_connection_rate_limit").stdout.strip()


def test_a_deploy_killed_at_three_points_leaves_a_host_the_next_deploy_converges(mailvm: MailVm, tmp_path: Path) -> None:
    def change(overrides: dict[str, Any]) -> None:
        # One setting for Dovecot's file (uploaded first), one for Postfix's main.cf.
        overrides["limits"] = {**overrides["limits"], "auth_failure_delay": 3, "connections_per_minute": 999}

    changed = vm_inventory_with(tmp_path, "changed", change)
    before = current_generation()["number"]
    for point, marker in CUTS.items():
        output = deploy_cut_at(changed, marker)
        assert "confirmed over a new SSH connection" not in output, point
        live_configuration_is_accepted(mailvm)
        # Where the cut landed: Dovecot's file goes up before Postfix's main.cf, all of them before the host phase.
        delay, rate = live_limits(mailvm)
        assert delay == "3", point
        if point != "during the uploads":
            assert rate == "999", point

    done = february("deploy", str(changed))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "confirmed over a new SSH connection" in done.stdout, done.stdout[-3000:]
    assert live_limits(mailvm) == ("3", "999")
    # No partial upload is left beside a live file once the next deploy is done.
    left = mailvm.run(f"find /etc /usr/local/sbin {PARTIAL}").stdout.strip()
    assert left == "", left
    tag = uuid.uuid4().hex[:8]
    with mailvm.smtp() as client:
        client.send_message(message("carol@example.net", "alice@example.test", f"after the cut deploys {tag}"))
    mailvm.wait_for_message("alice@example.test", f"after the cut deploys {tag}")
    same = february("diff", "-i", str(changed))
    assert same.returncode == 0 and "no change" in same.stdout, same.stdout[-3000:] + same.stderr[-2000:]
    assert current_generation()["number"] > before

    # The session's own settings again, for the tests after this one.
    back = february("deploy", str(lifecycle.VM_INVENTORY))
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-2000:]
    assert mailvm.run("postconf -h smtpd_client_connection_rate_limit").stdout.strip() == "1000"

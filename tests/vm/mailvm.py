"""A handle on the booted, converged February VM for the end-to-end tests."""

from __future__ import annotations

import datetime
import imaplib
import re
import smtplib
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import testinfra

from february.vm import qemu
from february.vm.config import VmConfig
from february.vm.secrets import mailbox_password
from february.vm.world_process import SMARTHOST_USER, spool
from february.world import read_spool

# What Dovecot itself logs (at err) when it is stopped while its auth process holds a
# connection to anvil: anvil exits first and auth reads EOF. A stop's own noise, not a fault.
DOVECOT_STOP_RACE = re.compile(r" dovecot\[\d+\]: auth: Error: read\(anvil-auth-penalty\) failed: EOF$")
# What Rspamd logs (at err) when a Lua script's upload to Redis outlives its timeout because the
# process started on a starved VM (CI's stops 30 and 34: a rollback's restart and a reboot while
# another VM converged). lua_redis retries the upload from a periodic job until it succeeds, and
# logs the success at info ("uploaded redis script to ..."). A timeout the same process followed
# with a successful upload healed itself; one it never followed with one is a fault.
RSPAMD_UPLOAD_TIMEOUT = re.compile(
    r"^(\S+) \S+ rspamd\[(\d+)\]: .*cannot upload script to (\S+): timeout while connecting the server; "
    r"registered from: .*, filename: (\S+)$"
)
RSPAMD_UPLOADED = re.compile(r"^(\S+) \S+ rspamd\[(\d+)\]: .*uploaded redis script to (\S+) from file ([^,\s]+), sha: ")


def without_healed_uploads(errors: list[str], uploads: str) -> list[str]:
    """``errors`` without each Rspamd upload timeout that the same process's later upload of the same script healed.

    ``uploads`` is Rspamd's journal (short-iso) holding its "uploaded redis script to" lines.
    """
    done = [found.groups() for line in uploads.splitlines() if (found := RSPAMD_UPLOADED.search(line))]

    def healed(line: str) -> bool:
        found = RSPAMD_UPLOAD_TIMEOUT.search(line)
        if found is None:
            return False
        when, *which = found.groups()
        return any(then >= when and list(what) == which for then, *what in done)

    return [line for line in errors if not healed(line)]


def insecure_context() -> ssl.SSLContext:
    """The VM's certificate is self-signed: the tests check TLS versions, not the chain."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass
class MailVm:
    config: VmConfig
    started_at: str  # journal --since value: when the session began
    _host: Any = field(default=None, repr=False)
    # Err-level lines a test caused on purpose and asserted itself: (since, until, pattern).
    excused: list[tuple[str, str, re.Pattern[str]]] = field(default_factory=list, repr=False)

    # ----- shell -----
    def run(self, command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            qemu.ssh_argv(self.config) + [qemu.as_admin(self.config, command)], capture_output=True, text=True, timeout=300
        )
        if check and done.returncode != 0:
            why = f"\n{qemu.unreachable(self.config)}" if done.returncode == 255 else ""
            raise AssertionError(f"{command!r} exited {done.returncode}: {done.stderr or done.stdout}{why}")
        return done

    @property
    def host(self) -> Any:
        """A testinfra host over the same SSH."""
        if self._host is None:
            ssh_config = self.config.dir / "ssh_config"
            ssh_config.write_text(
                "Host february-vm\n"
                "  HostName 127.0.0.1\n"
                f"  Port {self.config.ssh_port}\n"
                f"  User {self.config.ssh_user}\n"
                f"  IdentityFile {self.config.ssh_key}\n"
                "  StrictHostKeyChecking no\n"
                "  UserKnownHostsFile /dev/null\n"
                "  LogLevel ERROR\n"
                # testinfra asks for ControlMaster but names no socket: without
                # one every check is a new SSH handshake (about 1 s under TCG).
                f"  ControlPath {self.config.dir}/ssh-%C\n"
            )
            self._host = testinfra.get_host("ssh://february-vm", ssh_config=str(ssh_config), sudo=self.config.ssh_user != "root")
        return self._host

    def now(self) -> str:
        """The guest's clock (UTC), as ``journalctl --since`` and ``excuse`` take it."""
        return self.run("date -u '+%Y-%m-%d %H:%M:%S'").stdout.strip()

    @contextmanager
    def dovecot_stopped(self) -> Iterator[None]:
        """Dovecot stopped for the block, then started again; the stop's own err line is excused."""
        since = self.now()
        self.run("systemctl stop dovecot")
        try:
            yield
        finally:
            self.run("systemctl start dovecot")
            self.excuse(since, self.now(), DOVECOT_STOP_RACE)

    # ----- journal -----
    MAIL_UNITS = ("postfix@-", "dovecot", "rspamd", "redis-server")

    def journal_errors(self, since: str | None = None) -> str:
        """The mail services' err-level journal lines since ``since`` (default: the session's start); empty when none."""
        since = since or self.started_at
        units = " ".join(f"-u {unit}" for unit in self.MAIL_UNITS)
        out = self.run(f"journalctl --no-pager -q -p err {units} --since '{since}' -o short-iso").stdout.strip()
        lines = [] if out == "-- No entries --" else out.splitlines()
        lines = [line for line in lines if not self._is_excused(line)]
        return "\n".join(self._unhealed(lines, since))

    def _unhealed(self, lines: list[str], since: str) -> list[str]:
        """``lines`` but the Rspamd upload timeouts a later upload healed (``without_healed_uploads``);
        the journal is asked for those uploads only when there is a timeout to heal."""
        if not any(RSPAMD_UPLOAD_TIMEOUT.search(line) for line in lines):
            return lines
        uploads = self.run(
            f"journalctl --no-pager -q -u rspamd --grep 'uploaded redis script to' --since '{since}' -o short-iso", check=False
        )
        return without_healed_uploads(lines, uploads.stdout)

    def excuse(self, since: str, until: str, pattern: re.Pattern[str]) -> None:
        """Err-level lines matching ``pattern`` between ``since`` and ``until`` (guest UTC times) were caused on purpose."""
        self.excused.append((since, until, pattern))

    def _is_excused(self, line: str) -> bool:
        stamp = datetime.datetime.fromisoformat(line.split(" ", 1)[0]).astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
        return any(since <= stamp <= until and pattern.search(line) for since, until, pattern in self.excused)

    # ----- mail -----
    def password(self, address: str) -> str:
        return mailbox_password(self.config, address)

    def smtp(self, port: int | None = None) -> smtplib.SMTP:
        client = smtplib.SMTP("127.0.0.1", port or self.config.smtp_port, local_hostname="client.example.net", timeout=120)
        client.ehlo()
        return client

    def submission(self, login: str | None = None, password: str | None = None) -> smtplib.SMTP:
        client = self.smtp(self.config.submission_port)
        client.starttls(context=insecure_context())
        client.ehlo()
        if login is not None:
            client.login(login, password if password is not None else self.password(login))
        return client

    def imap(self, address: str) -> imaplib.IMAP4_SSL:
        client = imaplib.IMAP4_SSL("127.0.0.1", self.config.imaps_port, ssl_context=insecure_context(), timeout=60)
        client.login(address, self.password(address))
        return client

    def wait_for_message(self, address: str, subject: str, mailbox: str = "INBOX", timeout: float = 120) -> bytes:
        """Poll the mailbox over IMAPS until a message with ``subject`` arrives; return it raw."""
        deadline = time.monotonic() + timeout
        while True:
            with self.imap(address) as client:
                client.select(f'"{mailbox}"', readonly=True)
                _, found = client.search(None, "HEADER", "Subject", f'"{subject}"')
                ids = found[0].split()
                if ids:
                    _, data = client.fetch(ids[0], "(RFC822)")
                    part = data[0]
                    assert isinstance(part, tuple)
                    return part[1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no message {subject!r} in {address}/{mailbox} after {timeout:.0f}s")
            time.sleep(2)

    def wait_for_relayed(self, subject: str, timeout: float = 120) -> dict[str, Any]:
        """Wait until the fake smarthost received a message with ``subject``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in read_spool(spool(self.config)):
                if f"Subject: {subject}" in record["data"]:
                    return record
            time.sleep(1)
        raise AssertionError(f"the fake smarthost never received {subject!r}")

    @property
    def relay_login(self) -> str:
        return SMARTHOST_USER


def message(sender: str, recipient: str, subject: str, body: str = "Hello from the February tests.\n") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = recipient
    mail["Subject"] = subject
    mail.set_content(body)
    return mail


def spool_path(config: VmConfig) -> Path:
    return spool(config)


def sudo_inventory(folder: Path, config: VmConfig, admin: str, name: str = "sudo_hosts.py") -> Path:
    """An inventory shaped like inventory/hosts.py (ssh_user + _sudo) for a local VM slot.

    Beside it, group_data/ is the repository's: its group `vm` takes
    group_data/vm.py over all.py, as pyinfra loads any inventory file.
    """
    from february.paths import REPO

    (folder / "group_data").symlink_to(REPO / "inventory" / "group_data")
    data = {
        "ssh_user": admin,
        "_sudo": True,
        "february_admin_ssh_key": str(config.ssh_key.with_suffix(".pub")),
        "ssh_hostname": "127.0.0.1",
        "ssh_port": config.ssh_port,
        "ssh_key": str(config.ssh_key),
        "ssh_known_hosts_file": "/dev/null",
        "ssh_strict_host_key_checking": "no",
    }
    path = folder / name
    host = f"february-{config.name}"
    path.write_text(
        f"# Like inventory/hosts.py: the admin user with sudo, as on Ubuntu cloud images.\nvm = [({host!r}, {data!r})]\n"
    )
    return path

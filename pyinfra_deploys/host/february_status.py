#!/usr/bin/python3
"""February's health checks, run on the host as root: ``february-status CONFIG`` prints them as JSON.

One implementation for every caller: the deploy uploads this file verbatim
(``roles/status.py``) beside CONFIG, a JSON file it renders from ``layout``
and the settings (``status_config``), so every path, service and port the
checks look at comes from there and none is spelled here. ``february
status`` runs it over SSH and renders its output; a timer on the host can
run the same command. It imports nothing but the standard library (the
host has python3 and openssl, nothing of ours).

Output: a JSON list of ``{"section", "name", "level", "message"}`` with
level ``ok``, ``warning`` or ``error``. Exit status: 0 when all is ok, 1
with any warning, 2 with any error.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

OK, WARNING, ERROR = "ok", "warning", "error"
LEVELS = (OK, WARNING, ERROR)

# ----- thresholds -----
CERT_WARNING_DAYS = 14  # days left at or below which the certificate is a warning
CERT_ERROR_DAYS = 3  # ... and an error
DISK_WARNING_PERCENT = 30  # free space on the mail store under which it is a warning
DISK_ERROR_PERCENT = 15  # ... and an error
DEFERRED_WARNING_SECONDS = 3600  # the oldest deferred message's age past which it is a warning
BACKUP_WARNING_HOURS = 36  # the last successful backup's age: a nightly run was missed
BACKUP_ERROR_HOURS = 7 * 24  # ... a week of them
TIMEOUT = 10  # seconds for each connection and command

Result = dict[str, str]
# Runs argv, returns (exit status, stdout, stderr); a missing program is exit status 127.
Runner = Callable[[list[str]], tuple[int, str, str]]


def result(section: str, name: str, level: str, message: str) -> Result:
    assert level in LEVELS, level
    return {"section": section, "name": name, "level": level, "message": message}


def worst(results: Iterable[Result]) -> str:
    return max((r["level"] for r in results), key=LEVELS.index, default=OK)


def exit_code(results: Iterable[Result]) -> int:
    """0 when all is ok, 1 with any warning, 2 with any error."""
    return LEVELS.index(worst(results))


# ----- the configuration the deploy writes -----


@dataclass(frozen=True)
class Port:
    name: str
    address: str
    port: int
    mode: str  # "starttls" (SMTP) or "tls" (IMAPS: TLS from the first byte)


@dataclass(frozen=True)
class Relay:
    """The smarthost as Postfix reaches it: name, port, how its certificate is checked, where the login is kept."""

    host: str
    port: int
    verify: bool  # smtp_tls_security_level = secure (the CA file, the name); False: encrypt (TLS, nothing checked)
    ca_file: str  # smtp_tls_CAfile
    credentials: str  # the SASL password map's source (``[host]:port user:password``), root's


@dataclass(frozen=True)
class Config:
    hostname: str
    services: list[str]
    ports: list[Port]
    milter: str  # the settings' rspamd.milter: "host:port" on the loopback or a unix socket path
    cert: str
    key: str
    mail_store: str
    backup_status: str | None  # None: the settings have no backups
    backup_service: str | None
    reboot_required: str
    apt_check: str
    apt_lists: str
    # The delivery probe (``--deliver``): who receives it and who sends it; None: no mailbox to deliver to.
    probe_mailbox: str | None = None
    probe_sender: str = "root"
    sendmail: str = "sendmail"
    # The change notices (``--notify``): where the last run's levels are kept, and who is told.
    last: str | None = None
    notify_to: str | None = None
    # ACME (tls.source: acme): the record of the last issue or renewal, and the unit the timer runs; None: no ACME.
    acme_status: str | None = None
    acme_service: str | None = None
    # The settings' smarthost; None: mail goes straight to the domains' MX hosts.
    relay: Relay | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        ports = [Port(**port) for port in data["ports"]]
        relay = Relay(**data["relay"]) if data.get("relay") else None
        return cls(**{**data, "ports": ports, "relay": relay})


# ----- running things -----


def run(argv: list[str]) -> tuple[int, str, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        return 127, "", f"{argv[0]}: not found"
    except subprocess.TimeoutExpired:
        return 124, "", f"{argv[0]}: timed out"
    return done.returncode, done.stdout, done.stderr


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no output"


# ----- services -----


def service_results(names: list[str], states: list[str]) -> list[Result]:
    """One line per service from ``systemctl is-active`` (one state per name, in order)."""
    found = dict(zip(names, states, strict=False))
    out = []
    for name in names:
        state = found.get(name, "unknown")
        level = OK if state == "active" else WARNING if state in ("activating", "reloading") else ERROR
        out.append(result("Services", name, level, state))
    return out


def check_services(config: Config, runner: Runner) -> list[Result]:
    _, stdout, _ = runner(["systemctl", "is-active", *config.services])  # non-zero when any is not active
    return service_results(config.services, stdout.split())


# ----- ports -----


def client_context() -> ssl.SSLContext:
    """TLS without verifying who answers: trust is the certificate check's job, this one asks whether TLS works."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def smtp_starttls(address: str, port: int, helo: str, timeout: float = TIMEOUT) -> tuple[str, bytes]:
    """EHLO, STARTTLS: the TLS version and the certificate (DER) the server presents."""
    with smtplib.SMTP(address, port, local_hostname=helo, timeout=timeout) as smtp:
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            raise OSError("no STARTTLS offered after EHLO")
        smtp.starttls(context=client_context())
        sock = smtp.sock
        assert isinstance(sock, ssl.SSLSocket)
        version, der = sock.version() or "TLS", sock.getpeercert(binary_form=True) or b""
        smtp.ehlo()
    return version, der


def implicit_tls(address: str, port: int, timeout: float = TIMEOUT) -> tuple[str, bytes]:
    """TLS from the first byte, then the IMAP greeting: the TLS version and the certificate (DER)."""
    with (
        socket.create_connection((address, port), timeout=timeout) as raw,
        client_context().wrap_socket(raw) as sock,
    ):
        greeting = sock.recv(512)
        if not greeting.startswith(b"* OK"):
            raise OSError(f"no IMAP greeting after the handshake: {greeting[:40]!r}")
        version, der = sock.version() or "TLS", sock.getpeercert(binary_form=True) or b""
        sock.sendall(b"a LOGOUT\r\n")
    return version, der


def file_certificate(path: str) -> bytes | None:
    """The first certificate of a PEM file as DER; None when it cannot be read."""
    try:
        text = Path(path).read_text()
        begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
        start = text.index(begin)
        return ssl.PEM_cert_to_DER_cert(text[start : text.index(end, start) + len(end)])
    except (OSError, ValueError):
        return None


def port_result(port: Port, cert_path: str, on_disk: bytes | None, probe: Callable[[], tuple[str, bytes]]) -> Result:
    name = f"{port.name} ({port.port})"
    kind = "STARTTLS" if port.mode == "starttls" else "TLS"
    try:
        version, served = probe()
    except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
        return result("Ports", name, ERROR, f"no {kind} on {port.address}:{port.port}: {error}")
    if on_disk is not None and served != on_disk:
        return result("Ports", name, WARNING, f"{kind} ({version}), but not with {cert_path}: reload the service")
    return result("Ports", name, OK, f"{kind} ({version})")


def check_ports(config: Config, runner: Runner) -> list[Result]:
    """Every port probed at once (a port that hangs costs its timeout once, not once per port), in the declared order."""
    on_disk = file_certificate(config.cert)
    probes = []
    for port in config.ports:
        if port.mode == "starttls":
            probe = partial(smtp_starttls, port.address, port.port, config.hostname)
        else:
            probe = partial(implicit_tls, port.address, port.port)
        probes.append(partial(port_result, port, config.cert, on_disk, probe))
    with ThreadPoolExecutor(max_workers=max(1, len(probes))) as pool:
        return list(pool.map(lambda check: check(), probes))


# ----- the milter -----


def milter_address(spec: str) -> tuple[int, Any]:
    """The settings' milter as (socket family, address): a unix socket path or a loopback host:port."""
    if spec.startswith("/"):
        return socket.AF_UNIX, spec
    if spec.startswith("["):
        host, _, port = spec[1:].partition("]:")
        return socket.AF_INET6, (host, int(port))
    host, _, port = spec.rpartition(":")
    return socket.AF_INET, ("127.0.0.1" if host == "localhost" else host, int(port))


def check_milter(config: Config, runner: Runner) -> list[Result]:
    family, address = milter_address(config.milter)
    if family == socket.AF_UNIX:
        try:
            if not stat.S_ISSOCK(os.stat(address).st_mode):
                return [result("Rspamd", "milter", ERROR, f"{address} is not a socket")]
        except OSError:
            return [result("Rspamd", "milter", ERROR, f"no socket at {address}")]
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect(address)
            try:
                negotiated = milter_negotiates(sock)
            except OSError:
                negotiated = False
    except OSError as error:
        return [result("Rspamd", "milter", ERROR, f"nothing listens on {config.milter}: {error}")]
    if not negotiated:
        # Another service on that port (a setting that names Rspamd's controller or
        # normal worker): Postfix's milter_default_action would let mail pass unscanned.
        return [result("Rspamd", "milter", ERROR, f"{config.milter} answers, but not as a milter")]
    return [result("Rspamd", "milter", OK, f"a milter answers on {config.milter}")]


# The milter protocol's option negotiation (libmilter's SMFIC_OPTNEG): version 6,
# every action, every protocol step; then SMFIC_QUIT.
MILTER_OPTNEG = b"O" + (6).to_bytes(4, "big") + (0x1FF).to_bytes(4, "big") + (0x1FFFFF).to_bytes(4, "big")


def milter_negotiates(sock: socket.socket) -> bool:
    """Whether the peer answers the milter option negotiation with its own (an "O" packet)."""
    sock.sendall(len(MILTER_OPTNEG).to_bytes(4, "big") + MILTER_OPTNEG)
    head = b""
    while len(head) < 5:
        chunk = sock.recv(5 - len(head))
        if not chunk:
            return False
        head += chunk
    answered = head[4:5] == b"O" and 13 <= int.from_bytes(head[:4], "big") <= 65536
    sock.sendall((1).to_bytes(4, "big") + b"Q")
    return answered


# ----- the mail queue -----


def parse_postqueue(text: str) -> list[dict[str, Any]]:
    """``postqueue -j``: one JSON object per line (queue_name, queue_id, arrival_time, recipients...)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def queue_results(messages: list[dict[str, Any]], now: float) -> list[Result]:
    counts: dict[str, int] = {}
    for message in messages:
        counts[message.get("queue_name", "?")] = counts.get(message.get("queue_name", "?"), 0) + 1
    detail = ", ".join(f"{n} {queue}" for queue, n in sorted(counts.items()))
    noun = "message" if len(messages) == 1 else "messages"
    size = result("Mail queue", "size", OK, f"{len(messages)} {noun}" + (f" ({detail})" if detail else ""))
    deferred = [m for m in messages if m.get("queue_name") == "deferred" and "arrival_time" in m]
    if not deferred:
        return [size, result("Mail queue", "deferred", OK, "none")]
    oldest = min(deferred, key=lambda m: m["arrival_time"])
    age = now - oldest["arrival_time"]
    level = WARNING if age > DEFERRED_WARNING_SECONDS else OK
    said = f"{len(deferred)}, the oldest for {duration(age)}"
    reason = deferral_reason(oldest)
    return [size, result("Mail queue", "deferred", level, said + (f": {reason}" if reason else ""))]


def deferral_reason(message: dict[str, Any]) -> str:
    """Why Postfix last deferred a queued message (its first recipient's ``delay_reason``), on one line."""
    for recipient in message.get("recipients", []):
        reason = " ".join(str(recipient.get("delay_reason", "")).split())
        if reason:
            return reason[:300]
    return ""


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def check_queue(config: Config, runner: Runner, now: float) -> list[Result]:
    status, stdout, stderr = runner(["postqueue", "-j"])
    if status != 0:
        return [result("Mail queue", "size", ERROR, f"postqueue -j failed: {last_line(stderr or stdout)}")]
    return queue_results(parse_postqueue(stdout), now)


# ----- the relay -----


def relay_login(credentials: str, relay: Relay) -> tuple[str, str]:
    """The login for ``relay`` from the SASL password map's source, as Postfix looks it up (``[host]:port``)."""
    wanted = f"[{relay.host}]:{relay.port}"
    for line in Path(credentials).read_text().splitlines():
        key, _, login = line.strip().partition(" ")
        if key == wanted:
            user, sep, password = login.strip().partition(":")
            if sep:
                return user, password
    raise OSError(f"no login for {wanted} in {credentials}")


def relay_context(relay: Relay) -> ssl.SSLContext:
    """Postfix's check of the relay: ``secure`` trusts the CA file and matches the relay's name; ``encrypt`` checks nothing."""
    if not relay.verify:
        return client_context()
    return ssl.create_default_context(cafile=relay.ca_file)


def relay_session(relay: Relay, helo: str, timeout: float = TIMEOUT) -> str:
    """Connect, EHLO, STARTTLS (verified as Postfix verifies), EHLO, AUTH with the stored login, QUIT: no mail is sent.

    Returns the TLS version; any refusal raises (OSError, ssl.SSLError, smtplib.SMTPException) with the relay's answer.
    """
    user, password = relay_login(relay.credentials, relay)
    with smtplib.SMTP(relay.host, relay.port, local_hostname=helo, timeout=timeout) as smtp:
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            raise smtplib.SMTPNotSupportedError("the relay offers no STARTTLS")
        smtp.starttls(context=relay_context(relay))
        sock = smtp.sock
        assert isinstance(sock, ssl.SSLSocket)
        version = sock.version() or "TLS"
        smtp.ehlo()
        smtp.login(user, password)
        smtp.quit()
    return version


def answer_text(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error
    return f"{error.smtp_code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"


def relay_failure(error: BaseException, where: str) -> str:
    """What went wrong, in the relay's own words where it answered (never the password: smtplib does not echo it)."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return f"the relay refused the login: {answer_text(error)}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"the relay answered {answer_text(error)}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS: the relay's certificate does not verify: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS failed: {error.reason or error}"
    if isinstance(error, OSError) and error.strerror:
        return f"connect to {where}: {error.strerror}"
    return f"{where}: {error}"


def check_relay(config: Config, runner: Runner) -> list[Result]:
    relay = config.relay
    if relay is None:
        return [result("Relay", "smarthost", OK, "none: mail goes straight to the domains' MX hosts")]
    name = f"{relay.host}:{relay.port}"
    try:
        version = relay_session(relay, config.hostname)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
        return [result("Relay", name, ERROR, relay_failure(error, name))]
    checked = "certificate verified, " if relay.verify else "certificate not checked (encrypt-only), "
    return [result("Relay", name, OK, f"STARTTLS ({version}), {checked}login accepted")]


# ----- the certificate -----


def certificate_level(days_left: float) -> str:
    return ERROR if days_left <= CERT_ERROR_DAYS else WARNING if days_left <= CERT_WARNING_DAYS else OK


def parse_enddate(text: str) -> float:
    """``openssl x509 -enddate`` (notAfter=Jun  1 12:00:00 2026 GMT) as epoch seconds."""
    return float(ssl.cert_time_to_seconds(text.strip().removeprefix("notAfter=")))


def parse_san(text: str) -> list[str]:
    """The DNS names of ``openssl x509 -ext subjectAltName`` output."""
    return re.findall(r"DNS:([^\s,]+)", text)


def name_matches(hostname: str, names: list[str]) -> bool:
    """The host name is one of the names, or matched by a wildcard (one leftmost label)."""
    host = hostname.lower().rstrip(".")
    for name in (n.lower().rstrip(".") for n in names):
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def certificate_results(
    hostname: str, cert: str, enddate: str, san: str, cert_pubkey: str, key_pubkey: str | None, now: float
) -> list[Result]:
    days = (parse_enddate(enddate) - now) / 86400
    if days < 0:
        expiry = result("Certificate", "expiry", ERROR, f"{cert} expired {-days:.0f} days ago")
    else:
        expiry = result("Certificate", "expiry", certificate_level(days), f"{days:.0f} days left")
    names = parse_san(san)
    if name_matches(hostname, names):
        name = result("Certificate", "name", OK, f"{hostname} in its names")
    else:
        name = result("Certificate", "name", ERROR, f"{hostname} not in its names ({', '.join(names) or 'none'})")
    if key_pubkey is None:
        key = result("Certificate", "key", ERROR, "the key cannot be read")
    elif key_pubkey.strip() == cert_pubkey.strip():
        key = result("Certificate", "key", OK, "the key matches the certificate")
    else:
        key = result("Certificate", "key", ERROR, "the key does not match the certificate")
    return [expiry, name, key]


def renewal_result(record: str | None, service: str) -> Result:
    """``record``: the ACME script's "ok|failed EPOCH" of its last issue or renewal run; None when absent."""
    fields = (record or "").split()
    if len(fields) != 2 or fields[0] not in ("ok", "failed") or not fields[1].isdigit():
        return result("Certificate", "renewal", WARNING, "no ACME issue or renewal recorded yet")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(int(fields[1])))
    if fields[0] == "failed":
        return result(
            "Certificate",
            "renewal",
            ERROR,
            f"the last ACME run failed ({when}); the certificate in use stays: journalctl -u {service}",
        )
    return result("Certificate", "renewal", OK, f"the last ACME run succeeded ({when})")


def check_certificate(config: Config, runner: Runner, now: float) -> list[Result]:
    renewal: list[Result] = []
    if config.acme_status is not None:
        try:
            record: str | None = Path(config.acme_status).read_text()
        except OSError:
            record = None
        renewal = [renewal_result(record, config.acme_service or "")]
    status, stdout, stderr = runner(["openssl", "x509", "-in", config.cert, "-noout", "-enddate", "-ext", "subjectAltName"])
    if status != 0:
        return [result("Certificate", "expiry", ERROR, f"{config.cert} cannot be read: {last_line(stderr)}"), *renewal]
    enddate = next((line for line in stdout.splitlines() if line.startswith("notAfter=")), "")
    _, cert_pubkey, _ = runner(["openssl", "x509", "-in", config.cert, "-noout", "-pubkey"])
    status, key_pubkey, _ = runner(["openssl", "pkey", "-in", config.key, "-pubout"])
    found = certificate_results(
        config.hostname, config.cert, enddate, stdout, cert_pubkey, key_pubkey if status == 0 else None, now
    )
    return [*found, *renewal]


# ----- free space -----


def free_percent(blocks: int, bfree: int, bavail: int) -> float:
    """Free space as df counts it: available / (used + available), in percent."""
    used = blocks - bfree
    total = used + bavail
    return 100.0 * bavail / total if total else 0.0


def disk_level(percent: float) -> str:
    return ERROR if percent < DISK_ERROR_PERCENT else WARNING if percent < DISK_WARNING_PERCENT else OK


def check_disk(config: Config, runner: Runner) -> list[Result]:
    try:
        fs = os.statvfs(config.mail_store)
    except OSError as error:
        return [result("Disk", "mail store", ERROR, f"{config.mail_store}: {error.strerror}")]
    percent = free_percent(fs.f_blocks, fs.f_bfree, fs.f_bavail)
    free_gib = fs.f_bavail * fs.f_frsize / 2**30
    return [
        result("Disk", "mail store", disk_level(percent), f"{percent:.0f} % free ({free_gib:.1f} GiB) on {config.mail_store}")
    ]


# ----- backups -----


def backup_results(configured: bool, last_success: str | None, failed: bool, service: str, now: float) -> list[Result]:
    """``last_success``: the status file's text (epoch seconds, written by each successful run); None when absent."""
    if not configured:
        return [result("Backup", "backups", OK, "not configured (the settings have no backup)")]
    stamp = (last_success or "").strip()
    if not stamp.isdigit():
        age = result("Backup", "last success", WARNING, "no successful backup yet")
    else:
        hours = (now - int(stamp)) / 3600
        level = ERROR if hours > BACKUP_ERROR_HOURS else WARNING if hours > BACKUP_WARNING_HOURS else OK
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(int(stamp)))
        age = result("Backup", "last success", level, f"{when}, {duration(hours * 3600)} ago")
    if failed:
        last = result("Backup", "last run", ERROR, f"failed: journalctl -u {service}")
    else:
        last = result("Backup", "last run", OK, "did not fail")
    return [age, last]


def check_backup(config: Config, runner: Runner, now: float) -> list[Result]:
    if config.backup_status is None or config.backup_service is None:
        return backup_results(False, None, False, "", now)
    try:
        text: str | None = Path(config.backup_status).read_text()
    except OSError:
        text = None
    failed = runner(["systemctl", "is-failed", "--quiet", config.backup_service])[0] == 0
    return backup_results(True, text, failed, config.backup_service, now)


# ----- the system: reboot, security updates -----


def reboot_result(required: bool, packages: str) -> Result:
    if not required:
        return result("System", "reboot", OK, "not required")
    names = " ".join(packages.split())
    return result("System", "reboot", WARNING, "required" + (f" by {names}" if names else ""))


def check_reboot(config: Config, runner: Runner) -> list[Result]:
    try:
        packages = Path(f"{config.reboot_required}.pkgs").read_text()
    except OSError:
        packages = ""
    return [reboot_result(os.path.exists(config.reboot_required), packages)]


def security_upgrades(simulation: str) -> list[str]:
    """The packages ``apt-get -s upgrade`` would take from a security pocket (noble-security, bookworm-security)."""
    found = []
    for line in simulation.splitlines():
        if line.startswith("Inst ") and re.search(r"\([^)]*-security[ ,/\]]", line + " "):
            found.append(line.split()[1])
    return found


def parse_apt_check(text: str) -> int | None:
    """update-notifier's apt-check prints ``updates;security``: the number of security updates."""
    match = re.fullmatch(r"\s*(\d+);(\d+)\s*", text)
    return int(match[2]) if match else None


def updates_result(count: int | None, names: list[str] | None = None) -> Result:
    if count is None:
        return result("System", "security updates", WARNING, "unknown: no package lists")
    if count == 0:
        return result("System", "security updates", OK, "none pending")
    shown = f": {', '.join(names[:5])}{'…' if len(names) > 5 else ''}" if names else ""
    return result("System", "security updates", WARNING, f"{count} pending{shown}")


def has_package_lists(folder: str) -> bool:
    try:
        return any("_Packages" in name for name in os.listdir(folder))
    except OSError:
        return False


def check_updates(config: Config, runner: Runner) -> list[Result]:
    """From the package lists already on the host: nothing is downloaded (no network needed)."""
    if not has_package_lists(config.apt_lists):
        return [updates_result(None)]
    if os.access(config.apt_check, os.X_OK):
        status, _, stderr = runner([config.apt_check])
        count = parse_apt_check(stderr) if status == 0 else None
        if count is not None:
            return [updates_result(count)]
    status, stdout, stderr = runner(["apt-get", "-s", "-o", "Debug::NoLocking=1", "upgrade"])
    if status != 0:
        return [result("System", "security updates", WARNING, f"unknown: apt-get -s upgrade failed: {last_line(stderr)}")]
    names = security_upgrades(stdout)
    return [updates_result(len(names), names)]


# ----- mail from the host (the delivery probe, the change notices) -----


def message_head(config: Config, recipient: str, subject: str, message_id: str, now: float) -> str:
    """The headers every message from the host's checks carries (Date and Message-ID: no reason for Rspamd to mind it)."""
    return (
        f"From: February health check <{config.probe_sender}>\n"
        f"To: <{recipient}>\n"
        f"Subject: {subject}\n"
        f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(now))}\n"
        f"Message-ID: <{message_id}>\n"
    )


def send_mail(config: Config, runner: Runner, recipient: str, text: str) -> tuple[int, str, str]:
    """``text`` (a whole message) handed to the host's sendmail, from ``probe_sender``: through Postfix and its milter."""
    command = (
        f"printf %s {shlex.quote(text)} | {shlex.quote(config.sendmail)} -i "
        f"-f {shlex.quote(config.probe_sender)} -- {shlex.quote(recipient)}"
    )
    return runner(["sh", "-c", command])


# ----- a local delivery (--deliver: after a switch, not on every status run) -----

PROBE_HEADER = "X-February-Probe"
DELIVERY_SECONDS = 30  # for the probe to reach the mailbox


def probe_message(config: Config, token: str, now: float) -> str:
    """A small, well-formed message carrying ``token`` in PROBE_HEADER."""
    assert config.probe_mailbox is not None
    domain = config.hostname.partition(".")[2] or config.hostname
    return (
        message_head(config, config.probe_mailbox, f"February delivery probe {token}", f"{token}@{domain}", now)
        + f"{PROBE_HEADER}: {token}\n"
        "\n"
        "A probe of February's health check after a configuration switch; it is deleted once it has arrived.\n"
    )


def check_delivery(config: Config, runner: Runner, now: float) -> list[Result]:
    """Sendmail -> cleanup (the milter) -> queue -> LMTP -> the mailbox, seen by Dovecot; then the probe is expunged.

    The expunge takes every probe in the mailbox: one sent while the host was
    broken may have arrived since.
    """
    name = "local delivery"
    if config.probe_mailbox is None:
        return [result("Delivery", name, WARNING, "no mailbox to deliver a probe to")]
    token = os.urandom(8).hex()
    status, _, err = send_mail(config, runner, config.probe_mailbox, probe_message(config, token, now))
    if status != 0:
        return [result("Delivery", name, ERROR, f"sendmail failed: {last_line(err)}")]
    began = time.monotonic()
    search = ["doveadm", "search", "-u", config.probe_mailbox, "mailbox", "*", "header", PROBE_HEADER, token]
    while True:
        status, out, err = runner(search)
        if status == 0 and out.strip():
            break
        if time.monotonic() - began > DELIVERY_SECONDS:
            return [result("Delivery", name, ERROR, f"the probe did not reach {config.probe_mailbox} in {DELIVERY_SECONDS} s")]
        time.sleep(1)
    seconds = time.monotonic() - began
    status, _, err = runner(["doveadm", "expunge", "-u", config.probe_mailbox, "mailbox", "*", "header", PROBE_HEADER, ""])
    if status != 0:
        return [result("Delivery", name, WARNING, f"probe {token} arrived, but was not deleted: {last_line(err)}")]
    return [result("Delivery", name, OK, f"probe {token} reached {config.probe_mailbox} in {seconds:.0f} s and was deleted")]


# ----- all of them -----

SECTIONS: list[tuple[str, Callable[[Config, Runner, float], list[Result]]]] = [
    ("Services", lambda c, r, now: check_services(c, r)),
    ("Ports", lambda c, r, now: check_ports(c, r)),
    ("Rspamd", lambda c, r, now: check_milter(c, r)),
    ("Relay", lambda c, r, now: check_relay(c, r)),
    ("Mail queue", check_queue),
    ("Certificate", check_certificate),
    ("Disk", lambda c, r, now: check_disk(c, r)),
    ("Backup", check_backup),
    ("System", lambda c, r, now: check_reboot(c, r) + check_updates(c, r)),
]


@contextmanager
def no_traceback(section: str, out: list[Result]) -> Iterator[None]:
    """A check that breaks becomes an error line naming it; the other checks still run."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 (any failure of a check is reported as its error line)
        out.append(result(section, "check", ERROR, f"the check itself failed: {type(error).__name__}: {error}"))


def run_section(
    section: str, checks: Callable[[Config, Runner, float], list[Result]], config: Config, runner: Runner, now: float
) -> list[Result]:
    out: list[Result] = []
    with no_traceback(section, out):
        out += checks(config, runner, now)
    return out


DELIVERY = "Delivery"


def run_checks(
    config: Config, runner: Runner = run, now: float | None = None, deliver: bool = False, only: Iterable[str] | None = None
) -> list[Result]:
    """All sections at once (each mostly waits: on a port, a command, the resolver), their results in SECTIONS' order.

    ``deliver`` adds the delivery probe (a message into the first mailbox).
    ``only`` runs just the sections it names ("Delivery" among them: the probe):
    a switch's checks skip what it does not wait on (certificate, backup, updates),
    each of which costs seconds of CPU on a small or emulated box.
    """
    now = time.time() if now is None else now
    sections = [*SECTIONS, (DELIVERY, check_delivery)] if deliver or only is not None else SECTIONS
    if only is not None:
        wanted = set(only)
        sections = [entry for entry in sections if entry[0] in wanted]
    with ThreadPoolExecutor(max_workers=len(sections)) as pool:
        found = list(pool.map(lambda entry: run_section(entry[0], entry[1], config, runner, now), sections))
    return [line for lines in found for line in lines]


# ----- the change notices (--notify: the daily timer) -----

MARKS = {OK: "✓", WARNING: "!", ERROR: "✖"}


def levels_of(results: Iterable[Result]) -> dict[str, str]:
    """Each check's level by "section: name" (the messages carry ages and sizes that change every day)."""
    return {f"{r['section']}: {r['name']}": r["level"] for r in results}


def summary(results: list[Result]) -> str:
    counts = {level: sum(r["level"] == level for r in results) for level in LEVELS}
    return f"{counts[OK]} ok, {counts[WARNING]} warning{'s' * (counts[WARNING] != 1)}, {counts[ERROR]} error{'s' * (counts[ERROR] != 1)}"


def changes(before: dict[str, str] | None, results: list[Result]) -> list[str]:
    """What a notice must say: each check whose level changed (or, on the first run, each one not ok)."""
    now = levels_of(results)
    if before is None:
        return [f"{key}: {level}" for key, level in now.items() if level != OK]
    lines = [f"{key}: {before.get(key, 'new')} -> {level}" for key, level in now.items() if before.get(key) != level]
    lines += [f"{key}: {level} -> gone" for key, level in before.items() if key not in now]
    return lines


def notice(config: Config, results: list[Result], changed: list[str], now: float) -> str:
    report = [f"{MARKS[r['level']]} {r['section']}: {r['name']}: {r['message']}" for r in results]
    assert config.notify_to is not None
    subject = f"February status of {config.hostname} changed: {summary(results)}"
    return (
        message_head(config, config.notify_to, subject, f"{os.urandom(8).hex()}@{config.hostname}", now) + "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
        "What changed since the last check:\n"
        + "".join(f"  {line}\n" for line in changed)
        + "\nThe whole report:\n"
        + "".join(f"  {line}\n" for line in report)
        + "\n(february status gives the same; this host checks itself daily: february-status.timer)\n"
    )


def notify(config: Config, results: list[Result], runner: Runner, now: float) -> tuple[int, str]:
    """Mail ``notify_to`` when a check's level changed since the last run; the levels are kept only once told."""
    if config.last is None or config.notify_to is None:
        return 2, "no notice: the configuration names no recipient or state file"
    last = Path(config.last)
    try:
        before: dict[str, str] | None = json.loads(last.read_text())["levels"]
    except (OSError, ValueError, KeyError, TypeError):
        before = None  # the first run (or a state file that is not ours): say what is not ok
    changed = changes(before, results)
    if changed:
        status, _, err = send_mail(config, runner, config.notify_to, notice(config, results, changed, now))
        if status != 0:
            return 2, f"the notice to {config.notify_to} could not be sent: {last_line(err)}"
    tmp = last.with_name(last.name + ".tmp")
    tmp.write_text(json.dumps({"levels": levels_of(results), "at": now}, indent=1) + "\n")
    tmp.replace(last)
    if changed:
        return 0, f"{summary(results)}; {len(changed)} change(s) mailed to {config.notify_to}"
    return 0, f"{summary(results)}; unchanged, nothing mailed"


USAGE = (
    "usage: february-status CONFIG [--deliver | --only SECTION,... | --notify]"
    " (CONFIG: the JSON the deploy writes; SECTION: " + ", ".join(name for name, _ in SECTIONS) + f", {DELIVERY})"
)


def sections_named(text: str) -> list[str] | None:
    """``--only``'s comma-separated section names, or None when one is not a section."""
    names = text.split(",")
    known = {name for name, _ in SECTIONS} | {DELIVERY}
    return names if names and all(name in known for name in names) else None


def main(argv: list[str]) -> int:
    deliver, notifying = argv[2:] == ["--deliver"], argv[2:] == ["--notify"]
    only = sections_named(argv[3]) if len(argv) == 4 and argv[2] == "--only" else None
    if len(argv) != 2 and not (deliver or notifying or only):
        print(USAGE, file=sys.stderr)
        return 2
    with open(argv[1]) as file:
        config = Config.from_dict(json.load(file))
    if notifying:
        status, said = notify(config, run_checks(config), run, time.time())
        print(said, file=sys.stderr if status else sys.stdout)
        return status
    results = run_checks(config, deliver=deliver, only=only)
    print(json.dumps(results, indent=1, ensure_ascii=False))
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

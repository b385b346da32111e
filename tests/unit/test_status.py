"""The health checks (pyinfra_deploys/host/february_status.py) on fake inputs, their configuration, and `february status`.

The script runs on the host as root; here its pure parts get made-up
inputs (postqueue JSON, statvfs numbers, apt output, systemctl states), the
certificate check reads certificates openssl makes at test time, and the
port and milter checks talk to small servers on this machine's loopback.
"""

from __future__ import annotations

import ast
import contextlib
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pyinfra_deploys import layout
from pyinfra_deploys.host import february_status
from pyinfra_deploys.host.february_status import ERROR, OK, WARNING, Config, Port
from pyinfra_deploys.roles.status import config_text, status_config
from pyinfra_deploys.settings import load_settings

NOW = 1_800_000_000.0
HOST = "mail.example.test"


def levels(results: list[dict[str, str]]) -> dict[str, str]:
    return {r["name"]: r["level"] for r in results}


# ----- the script stands alone -----


def test_the_script_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(february_status.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
    assert Path(february_status.__file__).read_text().startswith("#!/usr/bin/python3\n")


def test_exit_status_is_the_worst_level() -> None:
    ok, warning, error = (february_status.result("S", "n", level, "m") for level in (OK, WARNING, ERROR))
    assert february_status.exit_code([]) == 0
    assert february_status.exit_code([ok, ok]) == 0
    assert february_status.exit_code([ok, warning]) == 1
    assert february_status.exit_code([warning, error, ok]) == 2


# ----- thresholds -----


@pytest.mark.parametrize(("days", "level"), [(90, OK), (14.5, OK), (14, WARNING), (4, WARNING), (3, ERROR), (0.5, ERROR)])
def test_certificate_days_left(days: float, level: str) -> None:
    assert february_status.certificate_level(days) == level


@pytest.mark.parametrize(("percent", "level"), [(80, OK), (30, OK), (29.9, WARNING), (15, WARNING), (14.9, ERROR), (0, ERROR)])
def test_free_space_levels(percent: float, level: str) -> None:
    assert february_status.disk_level(percent) == level


def test_free_space_is_counted_as_df_does() -> None:
    # 1000 blocks, 400 free of which 350 available to users (50 reserved for root): df says 350 / (600 + 350).
    assert february_status.free_percent(1000, 400, 350) == pytest.approx(36.84, abs=0.01)
    assert february_status.free_percent(0, 0, 0) == 0.0


def test_the_mail_store_line_reads_its_filesystem(tmp_path: Path) -> None:
    [line] = february_status.check_disk(config(tmp_path, mail_store=str(tmp_path)), fake_runner({}))
    assert line["section"] == "Disk" and str(tmp_path) in line["message"] and "% free" in line["message"]
    [missing] = february_status.check_disk(config(tmp_path, mail_store=str(tmp_path / "absent")), fake_runner({}))
    assert missing["level"] == ERROR


# ----- the mail queue -----


def queued(queue: str, age: float) -> str:
    return json.dumps(
        {
            "queue_name": queue,
            "queue_id": "4Kd1xy3zQz",
            "arrival_time": int(NOW - age),
            "message_size": 1843,
            "forced_expire": False,
            "sender": "alice@example.test",
            "recipients": [{"address": "bob@example.net", "delay_reason": "connect to relay: Connection refused"}],
        }
    )


def test_an_empty_queue_is_ok() -> None:
    results = february_status.queue_results(february_status.parse_postqueue(""), NOW)
    assert [(r["name"], r["level"], r["message"]) for r in results] == [("size", OK, "0 messages"), ("deferred", OK, "none")]


def test_a_deferred_message_is_a_warning_past_an_hour_and_its_reason_is_shown_at_once() -> None:
    young = "\n".join([queued("active", 7200), queued("deferred", 1800)]) + "\n"
    results = february_status.queue_results(february_status.parse_postqueue(young), NOW)
    assert levels(results) == {"size": OK, "deferred": OK}
    assert results[0]["message"] == "2 messages (1 active, 1 deferred)"
    assert results[1]["message"] == "1, the oldest for 30 min: connect to relay: Connection refused"

    old = "\n".join([queued("deferred", 1800), queued("deferred", 7300), queued("hold", 99999)])
    results = february_status.queue_results(february_status.parse_postqueue(old), NOW)
    assert levels(results) == {"size": OK, "deferred": WARNING}
    assert results[1]["message"] == "2, the oldest for 2.0 h: connect to relay: Connection refused"
    # The oldest message's reason, on one line, whatever Postfix put in it.
    oldest = json.loads(queued("deferred", 9000))
    oldest["recipients"] = [{"address": "a@example.net"}, {"address": "b@example.net", "delay_reason": "SASL login\n  failed"}]
    results = february_status.queue_results([json.loads(queued("deferred", 60)), oldest], NOW)
    assert results[1]["message"] == "2, the oldest for 2.5 h: SASL login failed"
    one = february_status.queue_results(february_status.parse_postqueue(queued("hold", 60)), NOW)
    assert [r["message"] for r in one] == ["1 message (1 hold)", "none"]


def test_postqueue_failing_is_an_error(tmp_path: Path) -> None:
    runner = fake_runner({"postqueue": (69, "", "postqueue: fatal: Queue report unavailable - mail system is down\n")})
    [line] = february_status.check_queue(config(tmp_path), runner, NOW)
    assert line["level"] == ERROR and "mail system is down" in line["message"]


# ----- the certificate, made by openssl at test time -----


def make_cert(folder: Path, name: str, days: int, san: str = HOST) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", str(days), "-subj", f"/CN={san}",
            "-addext", f"subjectAltName=DNS:{san},IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("certs")
    return {
        "good": make_cert(folder, "good", 90),
        "other": make_cert(folder, "other", 90),
        "soon": make_cert(folder, "soon", 10),
        "nearly": make_cert(folder, "nearly", 2),
        "wrong-name": make_cert(folder, "wrong-name", 90, san="elsewhere.example.net"),
    }


def cert_levels(tmp_path: Path, cert: Path, key: Path) -> dict[str, str]:
    return levels(
        february_status.check_certificate(config(tmp_path, cert=str(cert), key=str(key)), february_status.run, time.time())
    )


def test_a_good_certificate_is_ok(tmp_path: Path, certs: dict[str, tuple[Path, Path]]) -> None:
    c = config(tmp_path, cert=str(certs["good"][0]), key=str(certs["good"][1]))
    results = february_status.check_certificate(c, february_status.run, time.time())
    assert [(r["section"], r["name"], r["level"]) for r in results] == [
        ("Certificate", "expiry", OK),
        ("Certificate", "name", OK),
        ("Certificate", "key", OK),
    ]
    assert results[0]["message"] in ("89 days left", "90 days left")


def test_the_days_left_turn_it_yellow_then_red(tmp_path: Path, certs: dict[str, tuple[Path, Path]]) -> None:
    assert cert_levels(tmp_path, *certs["soon"])["expiry"] == WARNING
    assert cert_levels(tmp_path, *certs["nearly"])["expiry"] == ERROR


def test_another_name_or_another_key_is_an_error(tmp_path: Path, certs: dict[str, tuple[Path, Path]]) -> None:
    assert cert_levels(tmp_path, *certs["wrong-name"]) == {"expiry": OK, "name": ERROR, "key": OK}
    assert cert_levels(tmp_path, certs["good"][0], certs["other"][1]) == {"expiry": OK, "name": OK, "key": ERROR}
    assert cert_levels(tmp_path, certs["good"][0], tmp_path / "no.key")["key"] == ERROR
    [unreadable] = february_status.check_certificate(config(tmp_path, cert=str(tmp_path / "no.crt")), february_status.run, NOW)
    assert unreadable["level"] == ERROR and "cannot be read" in unreadable["message"]


def test_an_expired_certificate_and_the_parsers() -> None:
    results = february_status.certificate_results(HOST, "mail.crt", "notAfter=Jan  5 09:34:43 2027 GMT", "", "K", "K", NOW)
    assert february_status.parse_enddate("notAfter=Jan  5 09:34:43 2027 GMT") == 1799141683.0
    assert results[0]["level"] == ERROR and "expired" in results[0]["message"]  # NOW is 2027-01-15
    assert february_status.parse_san(
        "X509v3 Subject Alternative Name: \n    DNS:a.test, IP Address:127.0.0.1, DNS:*.b.test\n"
    ) == [
        "a.test",
        "*.b.test",
    ]
    assert february_status.name_matches("mail.b.test", ["a.test", "*.b.test"])
    assert february_status.name_matches("MAIL.A.TEST", ["a.test", "mail.a.test"])
    assert not february_status.name_matches("x.mail.b.test", ["*.b.test"])
    assert not february_status.name_matches("b.test", ["*.b.test"])


# ----- ports: small TLS servers on this machine's loopback -----


class FakeServer:
    """Accepts connections on 127.0.0.1 in a thread and hands each to ``handle``."""

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.handle = handle
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError, ssl.SSLError):
                self.handle(conn)

    def close(self) -> None:
        self.sock.close()


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def smtp(context: ssl.SSLContext, starttls: bool = True) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        conn.sendall(b"220 fake ESMTP\r\n")
        stream: socket.socket = conn
        reader = stream.makefile("rb")
        while line := reader.readline():
            verb = line.split()[0].upper() if line.split() else b""
            if verb == b"EHLO":
                stream.sendall(b"250-fake\r\n250 STARTTLS\r\n" if starttls and stream is conn else b"250 fake\r\n")
            elif verb == b"STARTTLS":
                stream.sendall(b"220 go ahead\r\n")
                stream = context.wrap_socket(conn, server_side=True)
                reader = stream.makefile("rb")
            elif verb == b"QUIT":
                stream.sendall(b"221 bye\r\n")
                return
            else:
                stream.sendall(b"502 no\r\n")

    return handle


def imaps(context: ssl.SSLContext) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"* OK fake IMAP ready\r\n")
            tls.recv(100)

    return handle


@pytest.fixture
def servers(certs: dict[str, tuple[Path, Path]]) -> Iterator[dict[str, FakeServer]]:
    context = server_context(*certs["good"])
    started = {
        "smtp": FakeServer(smtp(context)),
        "plain": FakeServer(smtp(context, starttls=False)),
        "imaps": FakeServer(imaps(context)),
    }
    yield started
    for server in started.values():
        server.close()


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def test_starttls_and_tls_answering_with_the_certificate_on_disk(
    tmp_path: Path, servers: dict[str, FakeServer], certs: dict[str, tuple[Path, Path]]
) -> None:
    ports = [
        Port("smtp", "127.0.0.1", servers["smtp"].port, "starttls"),
        Port("imaps", "127.0.0.1", servers["imaps"].port, "tls"),
    ]
    results = february_status.check_ports(config(tmp_path, ports=ports, cert=str(certs["good"][0])), fake_runner({}))
    assert [(r["level"], r["message"].split(" (")[0]) for r in results] == [(OK, "STARTTLS"), (OK, "TLS")]
    assert results[0]["name"] == f"smtp ({servers['smtp'].port})" and "TLSv1." in results[0]["message"]

    # The file holds another certificate than the one served: the service was not reloaded.
    stale = february_status.check_ports(config(tmp_path, ports=ports, cert=str(certs["other"][0])), fake_runner({}))
    assert [r["level"] for r in stale] == [WARNING, WARNING] and "reload" in stale[0]["message"]


def test_no_starttls_or_nothing_listening_is_an_error(tmp_path: Path, servers: dict[str, FakeServer]) -> None:
    ports = [
        Port("smtp", "127.0.0.1", servers["plain"].port, "starttls"),
        Port("submission", "127.0.0.1", closed_port(), "starttls"),
        Port("imaps", "127.0.0.1", servers["smtp"].port, "tls"),  # not TLS from the first byte
    ]
    results = february_status.check_ports(config(tmp_path, ports=ports), fake_runner({}))
    assert [r["level"] for r in results] == [ERROR, ERROR, ERROR]
    assert "no STARTTLS offered" in results[0]["message"]
    assert results[1]["message"].startswith("no STARTTLS on 127.0.0.1:")
    assert results[2]["message"].startswith("no TLS on 127.0.0.1:")


# ----- the milter -----


def test_the_milter_spellings() -> None:
    assert february_status.milter_address("127.0.0.1:11332") == (socket.AF_INET, ("127.0.0.1", 11332))
    assert february_status.milter_address("localhost:11332") == (socket.AF_INET, ("127.0.0.1", 11332))
    assert february_status.milter_address("[::1]:11332") == (socket.AF_INET6, ("::1", 11332))
    assert february_status.milter_address("/var/spool/postfix/rspamd/milter.sock") == (
        socket.AF_UNIX,
        "/var/spool/postfix/rspamd/milter.sock",
    )


class FakeMilter:
    """Answers the option negotiation on ``listening`` as libmilter does (``speaks``), or with an HTTP error."""

    def __init__(self, listening: socket.socket, speaks: bool = True) -> None:
        self.listening, self.speaks = listening, speaks
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.listening.accept()
        with conn:
            conn.recv(17)
            if self.speaks:
                reply = b"O" + (6).to_bytes(4, "big") + (0x1FF).to_bytes(4, "big") + (0).to_bytes(4, "big")
                conn.sendall(len(reply).to_bytes(4, "big") + reply)
            else:
                conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
            conn.recv(5)


def test_a_milter_answering_on_tcp_or_a_socket(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        spec = f"127.0.0.1:{listening.getsockname()[1]}"
        FakeMilter(listening)
        [found] = february_status.check_milter(config(tmp_path, milter=spec), fake_runner({}))
        assert found["level"] == OK and found["message"] == f"a milter answers on {spec}"
    [closed] = february_status.check_milter(config(tmp_path, milter=f"127.0.0.1:{closed_port()}"), fake_runner({}))
    assert closed["level"] == ERROR and "nothing listens" in closed["message"]

    path = tmp_path / "milter.sock"
    with socket.socket(socket.AF_UNIX) as unix:
        unix.bind(str(path))
        unix.listen()
        FakeMilter(unix)
        assert levels(february_status.check_milter(config(tmp_path, milter=str(path)), fake_runner({}))) == {"milter": OK}
    (tmp_path / "file").write_text("")
    [plain] = february_status.check_milter(config(tmp_path, milter=str(tmp_path / "file")), fake_runner({}))
    [missing] = february_status.check_milter(config(tmp_path, milter=str(tmp_path / "absent.sock")), fake_runner({}))
    assert (plain["level"], missing["level"]) == (ERROR, ERROR)
    assert "not a socket" in plain["message"] and "no socket" in missing["message"]


def test_another_service_on_the_milter_port_is_an_error(tmp_path: Path) -> None:
    """Rspamd's controller or normal worker named as the milter: it listens, but Postfix's milter calls fail."""
    with socket.create_server(("127.0.0.1", 0)) as listening:
        spec = f"127.0.0.1:{listening.getsockname()[1]}"
        FakeMilter(listening, speaks=False)
        [found] = february_status.check_milter(config(tmp_path, milter=spec), fake_runner({}))
    assert found["level"] == ERROR and found["message"] == f"{spec} answers, but not as a milter"


# ----- services, backups, reboot, updates -----


def test_a_service_not_active_is_an_error(tmp_path: Path) -> None:
    runner = fake_runner({"systemctl": (3, "active\nfailed\nactive\nactivating\n", "")})
    results = february_status.check_services(config(tmp_path), runner)
    assert levels(results) == {"postfix": OK, "dovecot": ERROR, "rspamd": OK, "redis-server": WARNING}
    assert results[1]["message"] == "failed"


def test_backups_not_configured_are_said_so_not_an_error(tmp_path: Path) -> None:
    results = february_status.check_backup(config(tmp_path, backup_status=None, backup_service=None), fake_runner({}), NOW)
    assert [(r["level"], r["message"]) for r in results] == [(OK, "not configured (the settings have no backup)")]


@pytest.mark.parametrize(
    ("age_hours", "failed", "expected"),
    [
        (10, False, {"last success": OK, "last run": OK}),
        (40, False, {"last success": WARNING, "last run": OK}),
        (8 * 24, False, {"last success": ERROR, "last run": OK}),
        (10, True, {"last success": OK, "last run": ERROR}),
        (None, False, {"last success": WARNING, "last run": OK}),
    ],
)
def test_the_last_backup_age_and_a_failed_run(
    tmp_path: Path, age_hours: float | None, failed: bool, expected: dict[str, str]
) -> None:
    status = tmp_path / "backup-last-success"
    if age_hours is not None:
        status.write_text(f"{int(NOW - age_hours * 3600)}\n")
    runner = fake_runner({"systemctl": (0 if failed else 1, "", "")})
    results = february_status.check_backup(config(tmp_path, backup_status=str(status)), runner, NOW)
    assert levels(results) == expected
    if failed:
        assert results[1]["message"] == f"failed: journalctl -u {layout.BACKUP_SERVICE}"


def test_a_reboot_required_is_a_warning_naming_the_packages(tmp_path: Path) -> None:
    flag = tmp_path / "reboot-required"
    assert levels(february_status.check_reboot(config(tmp_path, reboot_required=str(flag)), fake_runner({}))) == {"reboot": OK}
    flag.write_text("*** System restart required ***\n")
    Path(f"{flag}.pkgs").write_text("linux-image-6.8.0-51-generic\nlibc6\n")
    [line] = february_status.check_reboot(config(tmp_path, reboot_required=str(flag)), fake_runner({}))
    assert (line["level"], line["message"]) == (WARNING, "required by linux-image-6.8.0-51-generic libc6")


APT_SIMULATION = """NOTE: This is only a simulation!
Reading package lists...
The following packages will be upgraded:
  libssl3t64 openssl tzdata
Inst libssl3t64 [3.0.13-0ubuntu3.4] (3.0.13-0ubuntu3.5 Ubuntu:24.04/noble-updates, Ubuntu:24.04/noble-security [amd64])
Inst openssl [3.0.13-0ubuntu3.4] (3.0.13-0ubuntu3.5 Ubuntu:24.04/noble-updates, Ubuntu:24.04/noble-security [amd64])
Inst tzdata [2024a-3ubuntu1.1] (2025b-0ubuntu0.24.04 Ubuntu:24.04/noble-updates [all])
Inst libc6 [2.36-9+deb12u8] (2.36-9+deb12u9 Debian-Security:12/stable-security [amd64])
Conf libssl3t64 (3.0.13-0ubuntu3.5 Ubuntu:24.04/noble-updates, Ubuntu:24.04/noble-security [amd64])
"""


def test_security_updates_from_the_simulation_and_apt_check() -> None:
    assert february_status.security_upgrades(APT_SIMULATION) == ["libssl3t64", "openssl", "libc6"]
    assert february_status.parse_apt_check("12;3") == 3
    assert february_status.parse_apt_check("garbage") is None
    assert february_status.updates_result(0)["level"] == OK
    assert february_status.updates_result(3, ["a", "b", "c"])["message"] == "3 pending: a, b, c"


def test_updates_are_unknown_without_package_lists_and_counted_with_them(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    runner = fake_runner({"apt-get": (0, APT_SIMULATION, "")})
    [unknown] = february_status.check_updates(config(tmp_path, apt_lists=str(lists)), runner)
    assert (unknown["level"], unknown["message"]) == (WARNING, "unknown: no package lists")

    (lists / "archive.ubuntu.com_ubuntu_dists_noble-security_main_binary-amd64_Packages").write_text("")
    [counted] = february_status.check_updates(config(tmp_path, apt_lists=str(lists)), runner)
    assert (counted["level"], counted["message"]) == (WARNING, "3 pending: libssl3t64, openssl, libc6")

    apt_check = tmp_path / "apt-check"
    apt_check.write_text("#!/bin/sh\n")
    apt_check.chmod(0o755)
    runner = fake_runner({str(apt_check): (0, "", "4;0")})
    [none] = february_status.check_updates(config(tmp_path, apt_lists=str(lists), apt_check=str(apt_check)), runner)
    assert (none["level"], none["message"]) == (OK, "none pending")


# ----- all checks, as the host runs them -----


def fake_runner(answers: dict[str, tuple[int, str, str]]) -> february_status.Runner:
    """Answers by program name; anything else 'is not found' (exit 127)."""

    def runner(argv: list[str]) -> tuple[int, str, str]:
        return answers.get(argv[0], (127, "", f"{argv[0]}: not found"))

    return runner


def config(tmp_path: Path, **changes: Any) -> Config:
    base: dict[str, Any] = {
        "hostname": HOST,
        "services": [*layout.MAIL_SERVICES, layout.REDIS_SERVICE],
        "ports": [],
        "milter": f"127.0.0.1:{closed_port()}",
        "cert": str(tmp_path / "none.crt"),
        "key": str(tmp_path / "none.key"),
        "mail_store": str(tmp_path),
        "backup_status": str(tmp_path / "backup-last-success"),
        "backup_service": layout.BACKUP_SERVICE,
        "reboot_required": str(tmp_path / "reboot-required"),
        "apt_check": str(tmp_path / "apt-check"),
        "apt_lists": str(tmp_path / "lists"),
    }
    return Config(**{**base, **changes})


def test_every_check_runs_and_a_broken_one_is_its_own_error_line(tmp_path: Path) -> None:
    answers = {
        "systemctl": (0, "active\nactive\nactive\nactive\n", ""),
        "postqueue": (0, queued("deferred", 60) + "\n", ""),
    }
    c = config(tmp_path, ports=[Port("smtp", "127.0.0.1", closed_port(), "starttls")])
    results = february_status.run_checks(c, fake_runner(answers), NOW)
    sections = list(dict.fromkeys(r["section"] for r in results))
    assert sections == ["Services", "Ports", "Rspamd", "Relay", "Mail queue", "Certificate", "Disk", "Backup", "System"]
    assert all(set(r) == {"section", "name", "level", "message"} for r in results)
    assert levels(results) == {
        **dict.fromkeys(["postfix", "dovecot", "rspamd", "redis-server"], OK),
        "smtp (" + str(c.ports[0].port) + ")": ERROR,  # nothing listens
        "milter": ERROR,  # nothing listens
        "smarthost": OK,  # none configured
        "size": OK,
        "deferred": OK,
        "expiry": ERROR,  # no certificate file
        "mail store": levels(february_status.check_disk(c, fake_runner({})))["mail store"],
        "last success": WARNING,  # never
        "last run": ERROR,  # the fake systemctl exits 0 for is-failed too
        "reboot": OK,
        "security updates": WARNING,  # no package lists
    }
    assert february_status.exit_code(results) == 2

    def broken(argv: list[str]) -> tuple[int, str, str]:
        if argv[0] == "postqueue":
            return 0, "{not json\n", ""
        return fake_runner(answers)(argv)

    results = february_status.run_checks(c, broken, NOW)
    [queue] = [r for r in results if r["section"] == "Mail queue"]
    assert queue["level"] == ERROR and queue["message"].startswith("the check itself failed: JSONDecodeError")
    assert "Backup" in {r["section"] for r in results}  # the later checks still ran


def test_main_prints_json_and_exits_with_the_worst_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sample: dict[str, Any]
) -> None:
    path = tmp_path / "status.json"
    path.write_text(config_text(load_settings(sample)))
    seen: list[tuple[Config, bool]] = []
    asked: list[list[str] | None] = []

    def checks(c: Config, deliver: bool, only: list[str] | None = None) -> list[dict[str, str]]:
        seen.append((c, deliver))
        asked.append(only)
        return [february_status.result("Disk", "mail store", WARNING, "25 % free")]

    monkeypatch.setattr(february_status, "run_checks", checks)
    assert february_status.main(["february-status", str(path)]) == 1
    assert json.loads(capsys.readouterr().out) == [
        {"section": "Disk", "name": "mail store", "level": "warning", "message": "25 % free"}
    ]
    c, deliver = seen[0]
    assert c.hostname == "mail.yourdomain.com" and c.ports[2] == Port("imaps", "127.0.0.1", 993, "tls") and not deliver
    assert (c.probe_mailbox, c.probe_sender) == ("you@yourdomain.com", "postmaster@yourdomain.com")
    assert february_status.main(["february-status", str(path), "--deliver"]) == 1 and seen[1][1] is True
    assert february_status.main(["february-status"]) == 2
    assert february_status.main(["february-status", str(path), "--other"]) == 2
    assert february_status.main(["february-status", str(path), "--only", "Ports,Delivery"]) == 1
    assert asked[-1] == ["Ports", "Delivery"]
    for wrong in ("Ports,Nothing", "", "Ports,", "ports"):
        assert february_status.main(["february-status", str(path), "--only", wrong]) == 2


# ----- the delivery probe (after a switch) -----


class FakeMailbox:
    """sendmail and doveadm on a mailbox: a sent probe shows in a search after ``delay`` searches."""

    def __init__(self, delay: int = 1, sendmail_status: int = 0) -> None:
        self.delay, self.sendmail_status = delay, sendmail_status
        self.calls: list[list[str]] = []
        self.sent = ""
        self.expunged = False

    def __call__(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(argv)
        if argv[:2] == ["sh", "-c"]:
            self.sent = argv[2]
            return self.sendmail_status, "", "sendmail: fatal: no queue" if self.sendmail_status else ""
        if argv[:2] == ["doveadm", "search"]:
            self.delay -= 1
            return (0, "guid 1\n", "") if self.delay < 0 else (0, "", "")
        if argv[:2] == ["doveadm", "expunge"]:
            self.expunged = True
            return 0, "", ""
        return 127, "", "not found"


def test_the_probe_is_sent_found_and_expunged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    mailbox = FakeMailbox(delay=2)
    c = config(tmp_path, probe_mailbox="alice@example.test", probe_sender="postmaster@example.test")
    [line] = february_status.check_delivery(c, mailbox, NOW)
    assert (line["section"], line["name"], line["level"]) == ("Delivery", "local delivery", OK)
    token = line["message"].split()[1]
    assert f"X-February-Probe: {token}" in mailbox.sent and "-f postmaster@example.test -- alice@example.test" in mailbox.sent
    probe = ["-u", "alice@example.test", "mailbox", "*", "header", "X-February-Probe"]
    assert mailbox.calls[1] == ["doveadm", "search", *probe, token]
    # Every probe goes, also one that arrived late from an earlier check.
    assert mailbox.calls[-1] == ["doveadm", "expunge", *probe, ""]
    assert mailbox.expunged and len(mailbox.calls) == 5


def test_a_probe_that_does_not_arrive_or_cannot_be_sent_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    monkeypatch.setattr(february_status, "DELIVERY_SECONDS", 0)
    c = config(tmp_path, probe_mailbox="alice@example.test")
    [lost] = february_status.check_delivery(c, FakeMailbox(delay=10**6), NOW)
    assert lost["level"] == ERROR and lost["message"] == "the probe did not reach alice@example.test in 0 s"
    [unsent] = february_status.check_delivery(c, FakeMailbox(sendmail_status=75), NOW)
    assert unsent["level"] == ERROR and unsent["message"] == "sendmail failed: sendmail: fatal: no queue"
    [nobody] = february_status.check_delivery(config(tmp_path), FakeMailbox(), NOW)
    assert nobody["level"] == WARNING


def test_the_delivery_section_runs_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    c = config(tmp_path, probe_mailbox="alice@example.test")
    assert "Delivery" not in {r["section"] for r in february_status.run_checks(c, FakeMailbox(), NOW)}
    delivered = [r for r in february_status.run_checks(c, FakeMailbox(), NOW, deliver=True) if r["section"] == "Delivery"]
    assert [r["level"] for r in delivered] == [OK]


def test_only_runs_the_sections_it_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    c = config(tmp_path, probe_mailbox="alice@example.test")
    ran = february_status.run_checks(c, FakeMailbox(), NOW, only=["Disk", "Delivery"])
    assert {r["section"] for r in ran} == {"Disk", "Delivery"}
    assert {r["section"] for r in february_status.run_checks(c, FakeMailbox(), NOW, only=["Disk"])} == {"Disk"}


# ----- the configuration the deploy writes -----


def test_the_configuration_comes_from_layout_and_the_settings(sample: dict[str, Any], secrets_dir: Path) -> None:
    s = load_settings(sample)
    written = status_config(s)
    c = Config.from_dict(json.loads(config_text(s)))
    assert c.services == ["postfix", "dovecot", "rspamd", "redis-server"]
    assert [(p.address, p.port, p.mode) for p in c.ports] == [
        ("127.0.0.1", 25, "starttls"),
        ("127.0.0.1", 587, "starttls"),
        ("127.0.0.1", 993, "tls"),
    ]
    assert (c.cert, c.key, c.mail_store, c.milter) == (layout.TLS_CERT, layout.TLS_KEY, layout.VMAIL_DIR, "127.0.0.1:11332")
    assert (c.backup_status, c.backup_service) == (None, None)  # the sample has no backups
    assert written["reboot_required"] == layout.REBOOT_REQUIRED
    assert (c.last, c.notify_to, c.sendmail) == (layout.STATUS_LAST, "postmaster@yourdomain.com", layout.SENDMAIL)
    # The relay as main.cf has it: relayhost, the TLS level's check, the CA file, the SASL map's source.
    assert c.relay == february_status.Relay("smtp.fastmail.com", 587, True, layout.SYSTEM_CA, layout.SASL_PASSWD)
    unchecked = {**sample, "smarthost": {**sample["smarthost"], "tls_verify": "encrypt-only"}}
    assert Config.from_dict(status_config(load_settings(unchecked))).relay.verify is False  # type: ignore[union-attr]
    assert Config.from_dict(status_config(load_settings({**sample, "smarthost": None}))).relay is None

    password = secrets_dir / "restic.password"
    password.write_text("restic-password-generated-at-test-time\n")
    password.chmod(0o600)
    sample = {**sample, "inet_protocols": "ipv6", "backup": {"repository": "/srv/b", "password_file": str(password)}}
    c = Config.from_dict(status_config(load_settings(sample)))
    assert (c.backup_status, c.backup_service) == (layout.BACKUP_STATUS, layout.BACKUP_SERVICE)
    assert [p.address for p in c.ports] == ["::1", "::1", "127.0.0.1"]  # Dovecot listens on IPv4 (listen = *)


def test_the_script_runs_alone_under_the_system_python(tmp_path: Path, sample: dict[str, Any]) -> None:
    """As on the host: the file by itself (isolated, nothing of ours importable), its configuration as argument."""
    data = json.loads(config_text(load_settings(sample)))
    data |= {"ports": [], "milter": f"127.0.0.1:{closed_port()}", "cert": str(tmp_path / "none.crt")}
    data |= {"mail_store": str(tmp_path), "reboot_required": str(tmp_path / "reboot-required"), "apt_lists": str(tmp_path)}
    path = tmp_path / "status.json"
    path.write_text(json.dumps(data))
    done = subprocess.run(
        ["python3", "-I", february_status.__file__, str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    results = json.loads(done.stdout)
    assert done.returncode == february_status.exit_code(results) == 2, done.stderr  # at least the milter and the certificate
    assert {"milter": ERROR, "expiry": ERROR, "security updates": WARNING}.items() <= levels(results).items()
    assert "backups" in levels(results)  # the sample has none: said so


# ----- the generation (checked by the CLI: only the inventory knows its settings) -----


def test_the_current_generation_is_compared_with_the_inventorys_settings(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from february.status import generation_check
    from pyinfra_deploys.settings.model import Settings
    from pyinfra_deploys.stamp import settings_digest

    found: Any = SimpleNamespace(settings=Settings(hostname="mail.example.test", domain="example.test"))
    mine = {
        "number": 3,
        "reason": "converge",
        "current": True,
        "settings_digest": settings_digest(Settings(hostname="mail.example.test", domain="example.test")),
    }
    assert generation_check(found, [{**mine, "number": 2, "current": False}, mine])["level"] == OK
    other = generation_check(found, [{**mine, "settings_digest": "0" * 64}])
    assert other["level"] == WARNING and "february diff" in other["message"]
    assert generation_check(found, [])["level"] == WARNING


# ----- the change notices (the daily timer: february-status CONFIG --notify) -----


def line(section: str, name: str, level: str, message: str = "m") -> dict[str, str]:
    return february_status.result(section, name, level, message)


def test_the_owner_is_mailed_when_a_level_changes_and_only_then(tmp_path: Path) -> None:
    c = config(tmp_path, last=str(tmp_path / "last.json"), notify_to="postmaster@example.test")
    sent: list[str] = []

    def runner(argv: list[str]) -> tuple[int, str, str]:
        sent.append(argv[2])
        return 0, "", ""

    healthy = [line("Services", "postfix", OK, "active"), line("Disk", "mail store", OK, "71 % free")]
    # The first run with everything ok: nothing to say, the levels are kept.
    assert february_status.notify(c, healthy, runner, NOW) == (0, "2 ok, 0 warnings, 0 errors; unchanged, nothing mailed")
    assert sent == [] and json.loads((tmp_path / "last.json").read_text())["levels"]["Services: postfix"] == OK
    # Another message at the same level (the free space moved) is no change.
    assert february_status.notify(c, [healthy[0], line("Disk", "mail store", OK, "70 % free")], runner, NOW)[1].endswith(
        "nothing mailed"
    )
    broken = [line("Services", "postfix", ERROR, "failed"), healthy[1]]
    status, said = february_status.notify(c, broken, runner, NOW)
    assert (status, said) == (0, "1 ok, 0 warnings, 1 error; 1 change(s) mailed to postmaster@example.test")
    [mail] = sent
    assert "-f root -- postmaster@example.test" in mail
    assert "Subject: February status of mail.example.test changed: 1 ok, 0 warnings, 1 error" in mail
    assert "  Services: postfix: ok -> error\n" in mail and "✖ Services: postfix: failed" in mail
    assert "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n" in mail  # the marks are UTF-8
    # Back to ok is a change too.
    assert february_status.notify(c, healthy, runner, NOW)[0] == 0 and "  Services: postfix: error -> ok\n" in sent[1]


def test_a_first_run_with_a_problem_is_mailed_and_a_failed_send_is_retried(tmp_path: Path) -> None:
    c = config(tmp_path, last=str(tmp_path / "last.json"), notify_to="postmaster@example.test")
    warned = [line("System", "reboot", WARNING, "required by linux-image")]
    status, said = february_status.notify(c, warned, lambda argv: (75, "", "sendmail: fatal: queue file write error"), NOW)
    assert status == 2 and said.endswith("could not be sent: sendmail: fatal: queue file write error")
    assert not (tmp_path / "last.json").exists()  # not told: the next run tries again
    sent: list[str] = []
    assert february_status.notify(c, warned, lambda argv: (sent.append(argv[2]), (0, "", ""))[1], NOW)[0] == 0
    assert "  System: reboot: warning\n" in sent[0]


def test_the_notices_need_their_configuration(tmp_path: Path) -> None:
    assert february_status.notify(config(tmp_path), [], fake_runner({}), NOW)[0] == 2

"""Run the VM's outside world (fake smarthost, fake DNS, pebble as ACME server) in the foreground.

    python -m february.world --spool DIR --smarthost-port N --dns-port N \\
        --username U --password-file F --cert C --key K --zone-file Z --pidfile P

An internal helper started by the VM tooling, not the user CLI. The pid file
is written only once both services accept connections, so a caller can
start this in the background and wait for the pid file to appear. SIGHUP
re-reads the zone file (a broken file keeps the old zone); SIGTERM/SIGINT
stop both services and exit 0. One line per received message and per DNS
query goes to stdout, flushed at once, so the log is useful while a test runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from february.world.acme import Pebble
from february.world.certs import self_signed
from february.world.dns import TSIG_KEY_NAME, FakeDns
from february.world.smarthost import FakeSmarthost

_print_lock = threading.Lock()


def log_line(text: str) -> None:
    """One timestamped, flushed line; called from the services' threads, hence the lock."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with _print_lock:
        print(f"{stamp} {text}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m february.world",
        description="Fake smarthost and fake DNS for the test VM, on 127.0.0.1 only.",
    )
    parser.add_argument("--spool", type=Path, required=True, help="folder for one JSON file per accepted message")
    parser.add_argument("--smarthost-port", type=int, default=10025, help="loopback port of the smarthost (0: any free)")
    parser.add_argument("--dns-port", type=int, default=10053, help="loopback TCP+UDP port of the DNS (0: any free)")
    parser.add_argument("--username", required=True, help="the one SMTP AUTH login the smarthost accepts")
    parser.add_argument("--password-file", type=Path, required=True, help="file holding its password (one line)")
    parser.add_argument("--cert", type=Path, required=True, help="STARTTLS certificate (PEM); made if missing or unusable")
    parser.add_argument("--key", type=Path, required=True, help="its private key (PEM, 0600); made with the certificate")
    parser.add_argument(
        "--common-name", default="smarthost.test", help="name the certificate is made for (default: smarthost.test)"
    )
    parser.add_argument("--zone-file", type=Path, required=True, help="zone-file text the DNS answers from")
    parser.add_argument("--tsig-secret-file", type=Path, help="TSIG secret (base64) for dynamic updates; none: refused")
    parser.add_argument("--refuse-updates", type=Path, help="while this file exists, dynamic updates are REFUSED")
    parser.add_argument("--acme-port", type=int, help="run pebble (ACME) on this loopback port")
    parser.add_argument("--acme-management-port", type=int, default=15000, help="pebble's management port")
    parser.add_argument("--acme-cert", type=Path, help="pebble's HTTPS certificate (PEM)")
    parser.add_argument("--acme-key", type=Path, help="its private key (PEM)")
    parser.add_argument("--pidfile", type=Path, required=True, help="written once every service is listening")
    return parser.parse_args(argv)


def read_password(path: Path) -> str:
    """The first line of the file, without its line ending (a trailing newline is not part of the password)."""
    text = path.read_text(encoding="utf-8")
    return text.splitlines()[0] if text else ""


def write_pidfile(path: Path) -> None:
    """Write then rename, so a waiting caller never reads an empty pid file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{os.getpid()}\n", encoding="ascii")
    os.replace(tmp, path)


def remove_pidfile(path: Path) -> None:
    """Remove the pid file if it is still ours, so a stale one never suggests we are up."""
    try:
        if path.read_text(encoding="ascii").strip() == str(os.getpid()):
            path.unlink()
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # aiosmtpd logs every session and a deprecation warning per AUTH; our own lines say what matters.
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    # Handlers first: a SIGTERM arriving during start-up must still end in a clean stop.
    wake = threading.Event()
    pending: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        pending.append(signum)
        wake.set()

    for handled in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(handled, on_signal)

    try:
        password = read_password(args.password_file)
        zone_text = args.zone_file.read_text(encoding="utf-8")
        self_signed(args.cert, args.key, args.common_name)
        smarthost = FakeSmarthost(
            args.spool,
            args.username,
            password,
            args.cert,
            args.key,
            port=args.smarthost_port,
            server_hostname=args.common_name,
            log_line=log_line,
        )
        tsig = (TSIG_KEY_NAME, read_password(args.tsig_secret_file)) if args.tsig_secret_file else None
        dns = FakeDns(zone_text, port=args.dns_port, log_line=log_line, tsig_key=tsig, refuse_updates=args.refuse_updates)
    except Exception as e:  # noqa: BLE001 - unreadable files or a bad zone: say so, exit 1
        print(f"february.world: {e!r}", file=sys.stderr, flush=True)
        return 1

    pebble: Pebble | None = None
    try:
        smarthost.start()
        try:
            dns.start()
            if args.acme_port:
                pebble = Pebble(
                    args.pidfile.parent / "pebble",
                    args.acme_port,
                    args.acme_management_port,
                    dns.port,
                    args.acme_cert,
                    args.acme_key,
                )
                pebble.start(log=sys.stdout.buffer)
        except BaseException:
            dns.stop()
            smarthost.stop()
            raise
    except (OSError, RuntimeError) as e:
        print(f"february.world: cannot start: {e}", file=sys.stderr, flush=True)
        return 1

    try:
        acme = f" acme=127.0.0.1:{args.acme_port}" if pebble else ""
        log_line(f"world ready smarthost=127.0.0.1:{smarthost.port} dns=127.0.0.1:{dns.port}{acme} pid={os.getpid()}")
        write_pidfile(args.pidfile)
        while True:
            wake.wait(1.0)
            wake.clear()
            while pending:
                signum = pending.pop(0)
                if signum == signal.SIGHUP:
                    try:
                        dns.reload(args.zone_file.read_text(encoding="utf-8"))
                        log_line(f"world zone reloaded from {args.zone_file}")
                    except Exception as e:  # noqa: BLE001 - a typo in the zone must not kill the world
                        log_line(f"world zone reload failed, keeping the old zone: {e!r}")
                else:
                    log_line(f"world stopping on {signal.Signals(signum).name}")
                    return 0
    finally:
        if pebble is not None:
            pebble.stop()
        dns.stop()
        smarthost.stop()
        remove_pidfile(args.pidfile)


if __name__ == "__main__":
    sys.exit(main())

"""A fake smarthost: the provider's submission server, as the VM's Postfix sees it.

It behaves like a port-587 relay that insists on STARTTLS and then AUTH, so
the VM's ``relayhost`` settings (TLS level, SASL password map) are exercised
for real: a Postfix that would fall back to cleartext or skip AUTH gets
refused here just as it would be by the provider. Everything it accepts is
written into a spool folder, one JSON file per message, for the tests to read
back (including the exact raw bytes, which a DKIM check needs).

The SMTP protocol itself is aiosmtpd's; this module only configures it and
records what arrives.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hmac
import ipaddress
import json
import logging
import os
import ssl
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

log = logging.getLogger(__name__)

LogLine = Callable[[str], None]


def require_loopback(host: str) -> str:
    """Refuse any bind address but loopback: the fake world must never be reachable from off the host."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the fake world binds to loopback addresses only, not {host!r}")
    return host


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for STARTTLS; client certificates are neither asked for nor checked."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def _write_json_atomic(folder: Path, name: str, record: dict[str, Any]) -> Path:
    """Write then rename, so a reader polling the spool never sees half a message."""
    final = folder / name
    tmp = folder / f".{name}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=1, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    return final


def read_spool(spool: Path | str) -> list[dict[str, Any]]:
    """Every recorded message in spool, oldest first (by receipt time, then file name).

    Temp files of a write in progress (dot files) are skipped, so this is safe
    to call while the smarthost is running.
    """
    folder = Path(spool)
    if not folder.is_dir():
        return []
    records = []
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("."):
            continue
        records.append((path.name, json.loads(path.read_text(encoding="utf-8"))))
    records.sort(key=lambda item: (item[1].get("received_at_ns", 0), item[0]))
    return [record for _, record in records]


def raw_bytes(record: dict[str, Any]) -> bytes:
    """The exact bytes of a recorded message (``data`` is only a lossless-if-UTF-8 view)."""
    return base64.b64decode(record["data_b64"])


def _peer_text(peer: Any) -> str:
    """host:port for an inet peer, whatever aiosmtpd gave otherwise."""
    if isinstance(peer, (tuple, list)) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


class _Handler:
    """aiosmtpd handler: checks credentials and records accepted messages."""

    def __init__(self, spool: Path, username: str, password: str, log_line: LogLine | None) -> None:
        self.spool = spool
        self._username = username.encode("utf-8")
        self._password = password.encode("utf-8")
        self._log_line = log_line

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
        """aiosmtpd authenticator: one fixed login; anything else gets aiosmtpd's 535."""
        if isinstance(auth_data, LoginPassword):
            # Compare both halves even if the first fails: no short-cut timing.
            user_ok = hmac.compare_digest(auth_data.login, self._username)
            password_ok = hmac.compare_digest(auth_data.password, self._password)
            if user_ok and password_ok:
                return AuthResult(success=True, auth_data=auth_data.login.decode("utf-8", "replace"))
            who = auth_data.login.decode("utf-8", "replace")
        else:
            who = "?"
        if self._log_line:
            self._log_line(f"smarthost auth-failed peer={_peer_text(session.peer)} mech={mechanism} login={who!r}")
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Record the message as one JSON file, then acknowledge it like a real relay would."""
        raw = envelope.original_content or b""
        ssl_object = (session.ssl or {}).get("ssl_object")
        now_ns = time.time_ns()
        msg_id = uuid.uuid4().hex
        record: dict[str, Any] = {
            "id": msg_id,
            "received_at": dt.datetime.fromtimestamp(now_ns / 1e9, dt.UTC).isoformat(timespec="microseconds"),
            "received_at_ns": now_ns,
            "peer": _peer_text(session.peer),
            "helo": session.host_name,
            "tls": session.ssl is not None,
            "tls_version": ssl_object.version() if ssl_object is not None else None,
            "tls_cipher": ssl_object.cipher()[0] if ssl_object is not None else None,
            "auth_login": session.auth_data if session.authenticated else None,
            "mail_from": envelope.mail_from,
            "mail_options": list(envelope.mail_options),
            "rcpt_tos": list(envelope.rcpt_tos),
            "rcpt_options": list(envelope.rcpt_options),
            "size": len(raw),
            "data": raw.decode("utf-8", errors="replace"),
            "data_b64": base64.b64encode(raw).decode("ascii"),
        }
        _write_json_atomic(self.spool, f"{now_ns:020d}-{msg_id}.json", record)
        if self._log_line:
            self._log_line(
                f"smarthost accepted id={msg_id} from=<{envelope.mail_from}> "
                f"to={','.join(envelope.rcpt_tos)} size={len(raw)} "
                f"tls={record['tls_version']} auth={record['auth_login']}"
            )
        return f"250 2.0.0 Ok: queued as {msg_id}"


class _Controller(Controller):
    """aiosmtpd's threaded controller, taught to listen on port 0.

    Tests ask for an ephemeral port so they never collide with a running
    world on 10025; the stock controller would try to poke port 0 itself.
    """

    def _trigger_server(self) -> None:
        if isinstance(self.server, asyncio.Server) and self.port == 0:  # AbstractServer has no sockets
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class FakeSmarthost:
    """STARTTLS-then-AUTH SMTP relay on loopback that spools what it accepts.

    Before STARTTLS only EHLO/NOOP/STARTTLS/QUIT are allowed (530 otherwise)
    and AUTH is not advertised; after it, AUTH PLAIN/LOGIN with the one
    configured login is required before MAIL (530), and a wrong login is 535.
    """

    def __init__(
        self,
        spool: Path,
        username: str,
        password: str,
        cert: Path,
        key: Path,
        host: str = "127.0.0.1",
        port: int = 10025,
        *,
        server_hostname: str = "smarthost.test",
        log_line: LogLine | None = None,
    ) -> None:
        """port=0 picks a free port (read it from ``.port`` after start()).

        server_hostname is only the name in the banner and EHLO reply; it is
        set so aiosmtpd does not do a reverse lookup of the host's own name.
        log_line, if given, gets one line per accepted message and per failed AUTH.
        """
        self.spool = Path(spool)
        self.host = require_loopback(host)
        self.port = port
        self._handler = _Handler(self.spool, username, password, log_line)
        self._tls = server_tls_context(Path(cert), Path(key))
        self._server_hostname = server_hostname
        self._controller: _Controller | None = None

    def start(self) -> None:
        """Bind and serve in a background thread; returns once connections are accepted."""
        if self._controller is not None:
            raise RuntimeError("smarthost already running")
        self.spool.mkdir(parents=True, exist_ok=True)
        controller = _Controller(
            self._handler,
            hostname=self.host,
            port=self.port,
            server_hostname=self._server_hostname,
            ident="february fake smarthost",
            tls_context=self._tls,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=self._handler.authenticate,
            # Postfix sends 8BITMIME/SMTPUTF8 bodies; take them as bytes, never re-decode.
            decode_data=False,
        )
        controller.start()
        self.port = controller.port
        self._controller = controller

    def stop(self) -> None:
        """Stop listening and end the background thread (idempotent)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> FakeSmarthost:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

"""A fake authoritative DNS server: the internet's DNS, as far as the VM knows.

The VM's resolver is pointed here (over TCP: QEMU guestfwd carries only TCP,
hence ``options use-vc`` in the guest's resolv.conf). It answers from
zone-file text the tests control, so Postfix's MX lookups, a DKIM key lookup
or an SPF record resolve to whatever a test needs, and everything else is a
fast, definite "no": a resolver that times out would stall Postfix for
minutes, so every query gets an answer at once, even on internal errors
(SERVFAIL).

Answers: records of the asked type (following in-zone CNAMEs); NOERROR with
no answer if the name exists with other types only (or is an empty
non-terminal inside the zone); NXDOMAIN for names not in the zone and for
every PTR query the zone has no PTR record for.

Dynamic updates (RFC 2136), signed with the one TSIG key it is given, may add
and delete TXT records under ``_acme-challenge.`` names and nothing else: a
DNS provider's API as an ACME client's DNS-01 plugin (certbot's rfc2136)
uses it. They live beside the zone text, so a reload keeps them. While the
``refuse_updates`` file exists every update is REFUSED: a DNS provider that
broke (an expired token), for the tests of a failed renewal.
"""

from __future__ import annotations

import errno
import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
from dnslib import CLASS, QTYPE, RCODE, RR, TXT, DNSError, DNSLabel, DNSRecord
from dnslib.dns import RD, RDMAP, ZoneParser
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

from february.world.smarthost import require_loopback

log = logging.getLogger(__name__)

LogLine = Callable[[str], None]

# An idle TCP client (a stub resolver keeping its connection open) is dropped
# after this long, so handler threads cannot pile up.
TCP_IDLE_SECONDS = 10.0
_MAX_CNAME_CHAIN = 8
_SHUTDOWN_POLL_SECONDS = 0.05
_TXT_CHUNK = 255
_CLASS_ANY = 255  # dnslib names it "*", which is awkward as an attribute
# The only names a dynamic update may touch: DNS-01 challenges.
CHALLENGE_LABEL = "_acme-challenge."
# The name of the one TSIG key updates are signed with (certbot's rfc2136 plugin names it in its credentials).
TSIG_KEY_NAME = "february-acme."
_UPDATE_TTL = 60


def _name(label: DNSLabel | str) -> str:
    """Canonical lookup key: lower case, with the trailing dot."""
    text = str(label).lower()
    return text if text.endswith(".") else text + "."


def _chunks(data: bytes) -> list[bytes]:
    """Split one TXT string into <=255-byte strings; consumers (DKIM, SPF) concatenate them back."""
    return [data[i : i + _TXT_CHUNK] for i in range(0, len(data), _TXT_CHUNK)] or [b""]


class _ZoneParser(ZoneParser):
    """dnslib's zone parser, except TXT strings longer than 255 bytes are split instead of refused.

    A 2048-bit DKIM key does not fit one TXT string; real zone tools split it,
    and so must we, or the DKIM test could not publish its key.
    """

    def parse_rr(self, rr: list[str]) -> RR:
        label = self.parse_label(rr.pop(0))
        ttl = int(rr.pop(0)) if rr[0].isdigit() else self.ttl
        rclass = rr.pop(0) if rr[0] in ("IN", "CH", "HS") else "IN"
        rtype = rr.pop(0)
        if rtype == "TXT":
            rdata: RD = TXT([chunk for text in rr for chunk in _chunks(text.encode())])
        else:
            rdata = RDMAP.get(rtype, RD).fromZone(rr, self.origin)
        return RR(
            rname=label,
            ttl=ttl,
            rclass=getattr(CLASS, rclass),
            rtype=getattr(QTYPE, rtype),
            rdata=rdata,
        )


def parse_zone(zone_text: str) -> list[RR]:
    """Records from zone-file text ($ORIGIN, $TTL, parentheses, comments as dnslib supports them)."""
    return list(_ZoneParser(zone_text))


@dataclass(frozen=True)
class Zone:
    """An immutable index of the records; replaced whole on reload, never mutated."""

    records: dict[str, list[RR]] = field(default_factory=dict)
    empty_non_terminals: frozenset[str] = frozenset()

    @classmethod
    def from_records(cls, rrs: Iterable[RR]) -> Zone:
        records: dict[str, list[RR]] = {}
        for rr in rrs:
            records.setdefault(_name(rr.rname), []).append(rr)
        # A name between two owner names (_domainkey.example.test. when both
        # example.test. and sel._domainkey.example.test. have records) exists
        # without records: NOERROR/empty, not NXDOMAIN, as a real server says.
        ents: set[str] = set()
        for owner in records:
            between: list[str] = []
            labels = owner.rstrip(".").split(".")
            for i in range(1, len(labels)):
                ancestor = ".".join(labels[i:]) + "."
                if ancestor in records:
                    ents.update(between)
                    break
                between.append(ancestor)
        return cls(records, frozenset(ents - records.keys()))

    def soa_for(self, name: str) -> RR | None:
        """The SOA of the closest enclosing zone apex, for the authority section of negative answers."""
        labels = name.rstrip(".").split(".")
        for i in range(len(labels) + 1):
            candidate = ".".join(labels[i:]) + "." if i < len(labels) else "."
            for rr in self.records.get(candidate, []):
                if rr.rtype == QTYPE.SOA:
                    return rr
        return None


class ZoneResolver(BaseResolver):
    """Answers from a Zone that reload() swaps in one assignment (readers never see a mix)."""

    def __init__(self, records: list[RR], log_line: LogLine | None = None) -> None:
        self._static = records
        self._dynamic: dict[str, list[str]] = {}  # challenge name -> TXT values, from updates
        self._lock = threading.Lock()
        self._zone = Zone.from_records(records)
        self._log_line = log_line

    def reload(self, records: list[RR]) -> None:
        with self._lock:
            self._static = records
            self._swap()

    def _swap(self) -> None:
        dynamic = [
            RR(name, QTYPE.TXT, rdata=TXT(value), ttl=_UPDATE_TTL) for name, values in self._dynamic.items() for value in values
        ]
        self._zone = Zone.from_records([*self._static, *dynamic])

    def apply(self, changes: list[tuple[str, str, str | None]]) -> None:
        """Apply ("add"|"delete", name, value or None for all of the name's TXT) changes at once."""
        with self._lock:
            for action, name, value in changes:
                values = self._dynamic.setdefault(name, [])
                if action == "add" and value not in values:
                    values.append(value or "")
                elif action == "delete":
                    self._dynamic[name] = [v for v in values if value is not None and v != value]
                if not self._dynamic[name]:
                    del self._dynamic[name]
            self._swap()

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        try:
            self._answer(self._zone, request, reply)
        except Exception:  # an answer, even SERVFAIL, beats a client timing out
            log.exception("resolving %s failed", request.q.qname)
            reply = request.reply()
            reply.header.rcode = RCODE.SERVFAIL
        if self._log_line:
            q = request.q
            peer = getattr(handler, "client_address", ("?", 0))
            proto = getattr(handler, "protocol", "?")
            self._log_line(
                f"dns {proto} {peer[0]}:{peer[1]} {_name(q.qname)} {QTYPE.get(q.qtype)} -> "
                f"{RCODE.get(reply.header.rcode)} answers={len(reply.rr)}"
            )
        return reply

    @staticmethod
    def _answer(zone: Zone, request: DNSRecord, reply: DNSRecord) -> None:
        q = request.q
        qname = _name(q.qname)
        qtype = q.qtype
        if q.qclass not in (CLASS.IN, _CLASS_ANY):
            reply.header.rcode = RCODE.REFUSED
            return
        if qtype == QTYPE.PTR and not any(rr.rtype == QTYPE.PTR for rr in zone.records.get(qname, [])):
            reply.header.rcode = RCODE.NXDOMAIN
            return

        name = qname
        for _ in range(_MAX_CNAME_CHAIN):
            rrs = zone.records.get(name)
            if rrs is None:
                if name not in zone.empty_non_terminals:
                    # NXDOMAIN also when a CNAME points at a missing name: the final name decides.
                    reply.header.rcode = RCODE.NXDOMAIN
                break
            matching = list(rrs) if qtype == QTYPE.ANY else [rr for rr in rrs if rr.rtype == qtype]
            if matching:
                reply.rr.extend(matching)
                break
            cnames = [rr for rr in rrs if rr.rtype == QTYPE.CNAME]
            if not cnames:
                break  # the name exists with other types only: NOERROR, empty
            reply.rr.append(cnames[0])
            name = _name(cnames[0].rdata.label)

        if reply.rr:
            for rr in list(reply.rr):
                if rr.rtype in (QTYPE.MX, QTYPE.NS, QTYPE.SRV):
                    # Glue for the targets, as Postfix would otherwise ask again for each.
                    target = _name(rr.rdata.target if rr.rtype == QTYPE.SRV else rr.rdata.label)
                    for extra in zone.records.get(target, []):
                        if extra.rtype in (QTYPE.A, QTYPE.AAAA):
                            reply.add_ar(extra)
        else:
            soa = zone.soa_for(name)
            if soa is not None:
                reply.add_auth(soa)


def _refused_header(wire: bytes, rcode: dns.rcode.Rcode) -> bytes:
    """A bare response header (no sections, no TSIG) to a message that could not be read or verified."""
    if len(wire) < 12:
        return b""
    flags = struct.unpack("!H", wire[2:4])[0]
    flags = 0x8000 | (flags & 0x7800) | rcode  # QR, the query's opcode, the rcode
    return wire[:2] + struct.pack("!HHHHH", flags, 0, 0, 0, 0)


class DynamicUpdates:
    """RFC 2136 updates of DNS-01 challenge TXT records, TSIG-signed with one key (dnspython checks and signs)."""

    def __init__(
        self, resolver: ZoneResolver, tsig_key: tuple[str, str], refuse: Path | None, log_line: LogLine | None = None
    ) -> None:
        self._resolver = resolver
        self._keyring = dns.tsigkeyring.from_text({tsig_key[0]: tsig_key[1]})
        self._refuse = refuse
        self._log_line = log_line or (lambda _text: None)

    def answer(self, wire: bytes) -> bytes:
        try:
            message = dns.message.from_wire(wire, keyring=self._keyring)
        except (dns.message.UnknownTSIGKey, dns.tsig.BadSignature, dns.tsig.BadTime, dns.tsig.PeerError) as e:
            self._log_line(f"dns update refused: {e!r}")
            return _refused_header(wire, dns.rcode.NOTAUTH)
        except dns.exception.DNSException as e:  # unparsable
            self._log_line(f"dns update refused: {e!r}")
            return _refused_header(wire, dns.rcode.FORMERR)
        response = dns.message.make_response(message)
        rcode, changes = self._changes(message)
        if rcode == dns.rcode.NOERROR and self._refuse is not None and self._refuse.exists():
            rcode = dns.rcode.REFUSED
        if rcode == dns.rcode.NOERROR:
            self._resolver.apply(changes)
        response.set_rcode(rcode)
        self._log_line(f"dns update {dns.rcode.to_text(rcode)} {changes}")
        return response.to_wire()

    @staticmethod
    def _changes(message: dns.message.Message) -> tuple[dns.rcode.Rcode, list[tuple[str, str, str | None]]]:
        if not isinstance(message, dns.update.UpdateMessage) or not message.had_tsig:
            return dns.rcode.REFUSED, []
        changes: list[tuple[str, str, str | None]] = []
        for rrset in message.update:
            name = rrset.name.to_text().lower()
            if rrset.rdtype != dns.rdatatype.TXT or not name.startswith(CHALLENGE_LABEL):
                return dns.rcode.REFUSED, []
            if rrset.deleting == dns.rdataclass.ANY:  # delete every TXT of the name
                changes.append(("delete", name, None))
                continue
            for rdata in rrset:
                value = b"".join(rdata.strings).decode("ascii", "replace")
                changes.append(("delete" if rrset.deleting == dns.rdataclass.NONE else "add", name, value))
        return dns.rcode.NOERROR, changes


class _Handler(DNSHandler):
    """dnslib's handler, but a TCP connection may carry several queries.

    glibc with ``use-vc`` sends its A and AAAA queries down one connection;
    dnslib's stock handler answers only the first, which would leave the
    second to time out. Here each length-prefixed message gets its answer
    until the client closes or goes idle.
    """

    def get_reply(self, data: bytes) -> bytes:
        """Updates (opcode 5) go to DynamicUpdates, queries to dnslib."""
        if len(data) >= 12 and (data[2] >> 3) & 0xF == dns.opcode.UPDATE:
            updates: DynamicUpdates | None = getattr(self.server, "updates", None)
            if updates is None:
                return _refused_header(data, dns.rcode.REFUSED)
            return updates.answer(data)
        reply: bytes = super().get_reply(data)
        return reply

    def handle(self) -> None:
        if self.server.socket_type != socket.SOCK_STREAM:
            super().handle()
            return
        self.protocol = "tcp"
        sock: socket.socket = self.request
        sock.settimeout(TCP_IDLE_SECONDS)
        try:
            while True:
                head = self._recv_exact(sock, 2)
                if head is None:
                    return
                data = self._recv_exact(sock, struct.unpack("!H", head)[0])
                if data is None:
                    return
                try:
                    rdata = self.get_reply(data)
                except DNSError as e:  # unparsable query: nothing sensible to answer
                    self.server.logger.log_error(self, e)
                    return
                sock.sendall(struct.pack("!H", len(rdata)) + rdata)
        except OSError:  # idle timeout, reset by peer, shutdown
            return

    @staticmethod
    def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf


class _QuietLogger(DNSLogger):
    """dnslib's logger with its per-packet chatter off; the resolver writes the one line per query."""

    def __init__(self, log_line: LogLine | None) -> None:
        sink = log_line or (lambda _text: None)
        super().__init__(log="-recv,-send,-request,-reply,-truncated,-data", prefix=False, logf=sink)


class FakeDns:
    """Serves a zone on loopback over TCP (and UDP on the same port) until stop()."""

    def __init__(
        self,
        zone_text: str,
        host: str = "127.0.0.1",
        port: int = 10053,
        *,
        udp: bool = True,
        log_line: LogLine | None = None,
        tsig_key: tuple[str, str] | None = None,
        refuse_updates: Path | None = None,
    ) -> None:
        """port=0 picks a free port (read ``.port`` after start()).

        The zone is parsed here, so a broken zone fails before anything binds.
        log_line, if given, gets one line per query. tsig_key (name, base64
        secret) turns dynamic updates on; without it every update is REFUSED.
        """
        self.host = require_loopback(host)
        self.port = port
        self.udp = udp
        self._resolver = ZoneResolver(parse_zone(zone_text), log_line)
        self._updates = DynamicUpdates(self._resolver, tsig_key, refuse_updates, log_line) if tsig_key is not None else None
        self._logger = _QuietLogger(log_line)
        self._servers: list[DNSServer] = []

    def reload(self, zone_text: str) -> None:
        """Parse the new zone completely, then swap it in at once; a bad zone leaves the old one serving."""
        self._resolver.reload(parse_zone(zone_text))

    def _bind(self, port: int) -> list[DNSServer]:
        servers = [DNSServer(self._resolver, self.host, port, tcp=True, logger=self._logger, handler=_Handler)]
        port = servers[0].server.server_address[1]
        if self.udp:
            try:
                servers.append(DNSServer(self._resolver, self.host, port, tcp=False, logger=self._logger, handler=_Handler))
            except OSError:
                servers[0].server.server_close()
                raise
        for server in servers:
            server.server.updates = self._updates  # read by _Handler
        return servers

    def start(self) -> None:
        """Bind, then serve in background threads; queries are answered as soon as this returns."""
        if self._servers:
            raise RuntimeError("DNS already running")
        attempts = 20 if self.port == 0 else 1
        for attempt in range(attempts):
            try:
                servers = self._bind(self.port)
                break
            except OSError as e:
                # With port 0 the UDP side of the chosen TCP port may be taken; pick again.
                if e.errno != errno.EADDRINUSE or attempt == attempts - 1:
                    raise
        self.port = servers[0].server.server_address[1]
        for server in servers:
            # dnslib's start_thread() polls for shutdown every 0.5 s, which makes each
            # stop() take a second; a short poll keeps test teardown instant.
            server.thread = threading.Thread(
                target=server.server.serve_forever,
                kwargs={"poll_interval": _SHUTDOWN_POLL_SECONDS},
                name=f"fake-dns-{server.server.socket_type.name.lower()}",
                daemon=True,
            )
            server.thread.start()
        self._servers = servers

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.stop()
            server.thread.join()
            server.server.server_close()

    def __enter__(self) -> FakeDns:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

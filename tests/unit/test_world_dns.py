"""The fake DNS answers the VM's questions from zone text, at once and over TCP.

The VM only reaches it over TCP (QEMU guestfwd), so every query here goes
over TCP too; the long-TXT case is the DKIM key a signing test publishes.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator

import pytest
from dnslib import QTYPE, RCODE, DNSRecord

from february.world.dns import FakeDns

DKIM_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * 350 + "IDAQAB"
ZONE = f"""\
$TTL 300
example.net. IN MX 10 mx.example.net.
mx.example.net. IN A 192.0.2.10
example.test. 300 IN MX 10 mail.example.test.
example.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
mail.example.test. 300 IN A 192.0.2.20
alias.example.test. 300 IN CNAME mail.example.test.
february._domainkey.example.test. 300 IN TXT "v=DKIM1; k=rsa; p={DKIM_KEY}"
"""


@pytest.fixture
def dns() -> Iterator[FakeDns]:
    server = FakeDns(ZONE, port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def ask(server: FakeDns, name: str, qtype: str) -> DNSRecord:
    assert server.host == "127.0.0.1" and server.port not in (0, 10053)
    packet = DNSRecord.question(name, qtype).send(server.host, server.port, tcp=True, timeout=5)
    return DNSRecord.parse(packet)


def txt(reply: DNSRecord) -> str:
    """The TXT answer as a consumer sees it: the strings of one record concatenated."""
    (rr,) = [rr for rr in reply.rr if rr.rtype == QTYPE.TXT]
    return b"".join(rr.rdata.data).decode()


def test_mx_and_a(dns: FakeDns) -> None:
    reply = ask(dns, "example.net", "MX")
    assert reply.header.rcode == RCODE.NOERROR and reply.header.aa
    assert [(rr.rdata.preference, str(rr.rdata.label)) for rr in reply.rr] == [(10, "mx.example.net.")]
    reply = ask(dns, "MX.Example.NET", "A")  # names are case-insensitive
    assert [str(rr.rdata) for rr in reply.rr] == ["192.0.2.10"]


def test_long_txt_round_trips(dns: FakeDns) -> None:
    reply = ask(dns, "february._domainkey.example.test", "TXT")
    value = txt(reply)
    assert len(value) > 255
    assert value == f"v=DKIM1; k=rsa; p={DKIM_KEY}"
    assert all(len(chunk) <= 255 for chunk in reply.rr[0].rdata.data)


def test_cname_is_followed(dns: FakeDns) -> None:
    reply = ask(dns, "alias.example.test", "A")
    assert [QTYPE.get(rr.rtype) for rr in reply.rr] == ["CNAME", "A"]
    assert str(reply.rr[-1].rdata) == "192.0.2.20"


def test_negative_answers(dns: FakeDns) -> None:
    start = time.monotonic()
    present_other_type = ask(dns, "mail.example.test", "AAAA")
    assert present_other_type.header.rcode == RCODE.NOERROR and not present_other_type.rr
    assert ask(dns, "nothing.example.test", "A").header.rcode == RCODE.NXDOMAIN
    assert ask(dns, "example.org", "MX").header.rcode == RCODE.NXDOMAIN
    assert ask(dns, "10.2.0.192.in-addr.arpa", "PTR").header.rcode == RCODE.NXDOMAIN
    assert ask(dns, "mail.example.test", "PTR").header.rcode == RCODE.NXDOMAIN
    # Between two owner names: exists, empty (DKIM tools probe these).
    assert ask(dns, "_domainkey.example.test", "TXT").header.rcode == RCODE.NOERROR
    assert time.monotonic() - start < 2


def test_several_queries_on_one_tcp_connection(dns: FakeDns) -> None:
    """glibc with use-vc sends A and AAAA down one connection; both must be answered."""
    queries = [DNSRecord.question("mail.example.test", t) for t in ("A", "AAAA")]
    with socket.create_connection((dns.host, dns.port), timeout=5) as sock:
        sock.sendall(b"".join(struct.pack("!H", len(q.pack())) + q.pack() for q in queries))
        replies = []
        for _ in queries:
            (length,) = struct.unpack("!H", sock.recv(2, socket.MSG_WAITALL))
            replies.append(DNSRecord.parse(sock.recv(length, socket.MSG_WAITALL)))
    assert [r.header.id for r in replies] == [q.header.id for q in queries]
    assert [len(r.rr) for r in replies] == [1, 0]


def test_udp_on_the_same_port(dns: FakeDns) -> None:
    packet = DNSRecord.question("mx.example.net", "A").send(dns.host, dns.port, timeout=5)
    assert [str(rr.rdata) for rr in DNSRecord.parse(packet).rr] == ["192.0.2.10"]


def test_reload_swaps_the_zone(dns: FakeDns) -> None:
    dns.reload("example.net. 60 IN MX 20 other.example.net.\nother.example.net. 60 IN A 192.0.2.99\n")
    assert [str(rr.rdata.label) for rr in ask(dns, "example.net", "MX").rr] == ["other.example.net."]
    assert ask(dns, "mx.example.net", "A").header.rcode == RCODE.NXDOMAIN
    with pytest.raises(ValueError):  # dnslib: binascii.Error, a ValueError
        dns.reload("example.net. 60 IN BOGUSTYPE x\n")
    assert [str(rr.rdata) for rr in ask(dns, "other.example.net", "A").rr] == ["192.0.2.99"]


def test_refuses_non_loopback_bind() -> None:
    with pytest.raises(ValueError):
        FakeDns(ZONE, host="0.0.0.0", port=0)

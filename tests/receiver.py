"""What a receiving mail server concludes about a message: SPF, DKIM and DMARC.

The same libraries a receiver-side filter uses (pyspf, dkimpy, authheaders)
evaluate the message against a DNS server we name, normally the fake DNS
(february/world/dns.py) serving the zone `february dns` prints, on loopback.
So a test can check that the records we tell the owner to publish make the
owner's relayed mail pass, without any real DNS.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import authheaders
import dns.exception
import dns.resolver


@dataclass(frozen=True)
class Verdict:
    spf: str
    dkim: str
    dmarc: str
    header: str  # the Authentication-Results header as a receiver writes it


def resolver(host: str, port: int) -> dns.resolver.Resolver:
    """A dnspython resolver that asks only ``host:port`` (TCP: the fake DNS serves both)."""
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [host]
    res.port = port
    res.timeout = res.lifetime = 5.0
    return res


def txt_lookup(res: dns.resolver.Resolver):  # -> Callable[[str|bytes, float], bytes | None]
    """dkimpy's/authheaders' ``dnsfunc``: the TXT strings of a name, joined; None when there is none."""

    def lookup(name: str | bytes, timeout: float = 5.0) -> bytes | None:
        qname = name.decode() if isinstance(name, bytes) else name
        try:
            answer = res.resolve(qname.rstrip("."), "TXT", tcp=True, lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        except dns.exception.DNSException:
            return None
        return b"".join(b"".join(rdata.strings) for rdata in answer)

    return lookup


@contextmanager
def default_resolver(res: dns.resolver.Resolver) -> Iterator[None]:
    """pyspf (also inside authheaders) asks dnspython's default resolver; point it at ours meanwhile."""
    previous = dns.resolver.default_resolver
    dns.resolver.default_resolver = res
    try:
        yield
    finally:
        dns.resolver.default_resolver = previous


def evaluate(message: bytes, *, ip: str, mail_from: str, helo: str, dns_host: str = "127.0.0.1", dns_port: int = 53) -> Verdict:
    """SPF (for ``ip`` sending ``mail_from``), DKIM and DMARC of ``message``, as a receiver sees them.

    authheaders' ``authenticate_message`` hands one ``dnsfunc`` to dkimpy
    (which wants bytes) and to its DMARC lookup (which wants str), so the
    three checks are called one by one with the lookup each expects.
    """
    res = resolver(dns_host, dns_port)
    as_bytes = txt_lookup(res)

    def as_text(name: str, timeout: float = 5.0) -> str | None:
        found = as_bytes(name, timeout)
        return found.decode() if found is not None else None

    with default_resolver(res):
        spf = authheaders.check_spf(ip, mail_from, helo)
    dkim = authheaders.check_dkim(message, dnsfunc=as_bytes)
    dmarc = authheaders.check_dmarc(message, spf, dkim, dnsfunc=as_text)
    header = str(authheaders.AuthenticationResultsHeader(authserv_id="receiver.test", results=[spf, dkim, dmarc]))
    return Verdict(spf=spf.result, dkim=dkim.result, dmarc=dmarc.result, header=header)

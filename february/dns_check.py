"""The DNS records as a named resolver publishes them, against what `february dns` says they should be.

Run here, not on the host: the comparison needs the settings (the inventory)
and the host's DKIM key, and the owner names the resolver to ask (their
provider's, a public one) with ``february status --resolver``. dnspython
does the asking. One line per record, section "DNS", in the health checks'
format (``pyinfra_deploys.host.february_status.result``):

- a missing A (or AAAA) record for the host name, MX naming the host, SPF,
  DKIM or DMARC record is an error;
- a DKIM record whose key is not the host's is an error (receivers would
  fail every signature);
- SPF or DMARC published with other values than the settings give is a
  warning (the owner may have reasons), with both values;
- a resolver that does not answer is one error line.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import dns.exception
import dns.resolver

from february.dns_records import dmarc_value, spf_value
from pyinfra_deploys.host.february_status import ERROR, OK, WARNING, Result, result
from pyinfra_deploys.settings.model import Settings

SECTION = "DNS"
TIMEOUT = 5.0
DEFAULT_PORT = 53

# Asks one name and type; the answers as text (TXT strings joined), [] when there is none.
Lookup = Callable[[str, str], list[str]]


class ResolverDown(Exception):
    """The resolver did not answer (timeout, refused, SERVFAIL)."""


def parse_resolver(text: str) -> tuple[str, int]:
    """``ADDRESS`` or ``ADDRESS:PORT`` (``[v6]:PORT`` for IPv6) into (address, port); ValueError names what is wrong."""
    address, port = text, DEFAULT_PORT
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"{text!r}: after [address] only :PORT may follow")
            port = int(rest[1:])
    elif text.count(":") == 1:
        address, _, number = text.partition(":")
        if not number.isdigit():
            raise ValueError(f"{text!r}: the port must be a number")
        port = int(number)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address (ADDRESS or ADDRESS:PORT)") from None
    if not 0 < port < 65536:
        raise ValueError(f"{text!r}: the port must be between 1 and 65535")
    return address, port


def resolver_lookup(address: str, port: int) -> Lookup:
    """A Lookup asking only ``address:port``."""
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [address]
    res.port = port
    res.timeout = res.lifetime = TIMEOUT

    def lookup(name: str, rdtype: str) -> list[str]:
        try:
            answer = res.resolve(name, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as error:
            raise ResolverDown(f"{address}:{port} did not answer for {name} {rdtype}: {error}") from error
        if rdtype == "TXT":
            return [b"".join(rdata.strings).decode(errors="replace") for rdata in answer]
        if rdtype == "MX":
            return [str(rdata.exchange).rstrip(".").lower() for rdata in answer]
        return [rdata.to_text() for rdata in answer]

    return lookup


def _compare(name: str, published: list[str], wanted: str, prefix: str, mismatch: str) -> Result:
    """The one record starting with ``prefix`` against ``wanted``: missing is an error, another value ``mismatch``."""
    found = [value for value in published if value.lower().startswith(prefix.lower())]
    if not found:
        return result(SECTION, name, ERROR, f"none published (want: {wanted})")
    if len(found) > 1:
        return result(SECTION, name, ERROR, f"{len(found)} records published, receivers take none: {' | '.join(found)}")
    if found[0] == wanted:
        return result(SECTION, name, OK, found[0])
    return result(SECTION, name, mismatch, f"published {found[0]!r}, february dns says {wanted!r}")


def published_results(settings: Settings, dkim: dict[str, str], lookup: Lookup) -> list[Result]:
    """One line per record the host needs; ``dkim`` maps each domain to the host's DKIM TXT value."""
    host = settings.hostname
    try:
        out: list[Result] = []
        addresses = lookup(host, "A") + lookup(host, "AAAA")
        if addresses:
            out.append(result(SECTION, f"A {host}", OK, ", ".join(addresses)))
        else:
            out.append(result(SECTION, f"A {host}", ERROR, "no A or AAAA record"))
        spf = spf_value(settings)
        for domain in settings.served_domains:
            exchanges = lookup(domain, "MX")
            if host.lower() in exchanges:
                out.append(result(SECTION, f"MX {domain}", OK, host))
            else:
                out.append(result(SECTION, f"MX {domain}", ERROR, f"{host} is not among its MX: {exchanges or 'none'}"))
            out.append(_compare(f"SPF {domain}", lookup(domain, "TXT"), spf, "v=spf1", WARNING))
            selector = f"{settings.rspamd.dkim_selector}._domainkey.{domain}"
            if domain in dkim:
                out.append(_dkim(f"DKIM {domain}", lookup(selector, "TXT"), dkim[domain]))
            else:
                out.append(result(SECTION, f"DKIM {domain}", ERROR, "the host has no DKIM key for it yet (converge first)"))
            out.append(
                _compare(f"DMARC {domain}", lookup(f"_dmarc.{domain}", "TXT"), dmarc_value(settings, domain), "v=DMARC1", WARNING)
            )
        return out
    except ResolverDown as error:
        return [result(SECTION, "resolver", ERROR, str(error))]


def _key(value: str) -> str:
    """The p= of a DKIM record, spaces removed; '' when it has none."""
    tags = dict(part.strip().partition("=")[::2] for part in value.split(";") if "=" in part)
    return "".join(tags.get("p", "").split())


def _dkim(name: str, published: list[str], wanted: str) -> Result:
    records = [value for value in published if value.startswith("v=DKIM1") or "p=" in value]
    if not records:
        return result(SECTION, name, ERROR, "none published: receivers cannot check the host's signatures")
    if len(records) > 1:
        return result(SECTION, name, ERROR, f"{len(records)} records published for one selector")
    if _key(records[0]) != _key(wanted):
        return result(SECTION, name, ERROR, "the published key is not the host's: receivers will fail its signatures")
    return result(SECTION, name, OK, "the host's key")

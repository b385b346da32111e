"""The DNS records a February host needs, as zone-file lines.

The DKIM public key is read from the host (``rspamadm dkim_keygen`` wrote it
beside the key), since the key is made there and never leaves it.
"""

from __future__ import annotations

import ipaddress
import re

from pyinfra_deploys.settings.model import Settings


def dkim_txt_value(rspamadm_txt: str) -> str:
    """The TXT value from rspamadm's output: its quoted strings, joined."""
    parts = re.findall(r'"([^"]*)"', rspamadm_txt)
    value = "".join(parts).strip()
    if not value.startswith("v=DKIM1"):
        raise ValueError(f"not a DKIM record: {rspamadm_txt[:80]!r}")
    return value


def quote_txt(value: str) -> str:
    """TXT data in zone syntax, split into 255-character strings."""
    return " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))


def spf_mechanism(source: str) -> str:
    """The SPF term for ``smarthost.spf_include``: ``include:`` a domain, or ``ip4:``/``ip6:`` a network."""
    try:
        network = ipaddress.ip_network(source)
    except ValueError:
        return f"include:{source}"
    value = str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)
    return f"ip{network.version}:{value}"


def spf_value(settings: Settings) -> str:
    """``v=spf1 mx [relay] ~all``: the host itself, and the smarthost every outbound message leaves through.

    With a smarthost but no ``smarthost.spf_include`` the record would make
    receivers fail all our relayed mail, so it is refused instead of printed.
    """
    if settings.smarthost is None:
        return "v=spf1 mx ~all"
    if settings.smarthost.spf_include is None:
        raise ValueError(
            "smarthost.spf_include is not set: outbound mail leaves through the smarthost, so SPF must name its "
            "senders (Fastmail: spf.messagingengine.com; or the relay's IP network)"
        )
    return f"v=spf1 mx {spf_mechanism(settings.smarthost.spf_include)} ~all"


def dmarc_value(settings: Settings, domain: str) -> str:
    rua = settings.dns.dmarc_rua or f"postmaster@{domain}"
    return f"v=DMARC1; p={settings.dns.dmarc_policy}; rua=mailto:{rua}"


def zone_lines(settings: Settings, dkim: dict[str, str], address: str | None = None) -> list[str]:
    """Zone lines for every served domain; ``dkim`` maps domain to its TXT value.

    ``address`` is the public IP the MX name points at; without it a comment
    says that record is the owner's to add (a home line's address is not
    something the settings know).
    """
    host = settings.hostname
    spf = spf_value(settings)
    lines: list[str] = []
    if address:
        ip = ipaddress.ip_address(address)
        lines.append(f"{host}. 300 IN {'A' if ip.version == 4 else 'AAAA'} {ip}")
    else:
        lines.append(f"; {host}. needs an A (or AAAA) record with your public address: add it (or pass --address)")
    for domain in settings.served_domains:
        lines.append(f"{domain}. 300 IN MX 10 {host}.")
        lines.append(f"{domain}. 300 IN TXT {quote_txt(spf)}")
        if domain in dkim:
            lines.append(f"{settings.rspamd.dkim_selector}._domainkey.{domain}. 300 IN TXT {quote_txt(dkim[domain])}")
        lines.append(f"_dmarc.{domain}. 300 IN TXT {quote_txt(dmarc_value(settings, domain))}")
    return lines

"""The DNS records a February host needs, as zone-file lines.

The DKIM public key is read from the host (``rspamadm dkim_keygen`` wrote it
beside the key), since the key is made there and never leaves it.
"""

from __future__ import annotations

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
    return " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))


def zone_lines(settings: Settings, dkim: dict[str, str], address: str | None = None) -> list[str]:
    """Zone lines for every served domain; ``dkim`` maps domain to its TXT value."""
    host = settings.hostname
    lines: list[str] = []
    if address:
        lines.append(f"{host}. 300 IN A {address}")
    for domain in settings.served_domains:
        lines.append(f"{domain}. 300 IN MX 10 {host}.")
        lines.append(f"{domain}. 300 IN TXT {quote_txt('v=spf1 mx ~all')}")
        if domain in dkim:
            lines.append(f"{settings.rspamd.dkim_selector}._domainkey.{domain}. 300 IN TXT {quote_txt(dkim[domain])}")
        lines.append(f"_dmarc.{domain}. 300 IN TXT {quote_txt(f'v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}')}")
    return lines

"""Checked value types used by the settings model."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)+[a-z]{{2,63}}$")
_LOCAL_RE = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
# Hash schemes Dovecot reads: optional {SCHEME} prefix, then a crypt(3) string.
_HASH_RE = re.compile(r"^(\{[A-Z0-9.-]+\})?\$(6|5|y|2[aby]|argon2id?)\$\S+$")


def check_domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if not _DOMAIN_RE.match(value):
        raise ValueError(f"{value!r} is not a valid domain name (letters, digits and hyphens, dot-separated, like example.test)")
    return value


def check_address(value: str) -> str:
    value = value.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not _LOCAL_RE.match(local):
        raise ValueError(f"{value!r} is not a mail address like alice@example.test")
    check_domain(domain)
    return value


def check_network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=True))
    except ValueError as error:
        raise ValueError(f"{value!r} is not a network in CIDR form like 192.168.1.0/24 ({error})") from None


def check_password_hash(value: str) -> str:
    value = value.strip()
    if not _HASH_RE.match(value):
        raise ValueError(
            "is not a password hash; store a hash, never the password: "
            "make one with `february hash-password` or `doveadm pw -s SHA512-CRYPT`"
        )
    return value


def check_host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    try:
        ipaddress.ip_address(host)
        ok = bool(sep) and 0 < int(port) < 65536
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{value!r} is not an IP:port address like 127.0.0.1:11332")
    return value


def check_spf_source(value: str) -> str:
    """A domain (SPF ``include:``) or an IP network (``ip4:``/``ip6:``): who sends for the smarthost."""
    text = value.strip()
    try:
        return str(ipaddress.ip_network(text, strict=True))
    except ValueError:
        pass
    try:
        return check_domain(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a domain whose SPF record lists the relay's senders (like spf.messagingengine.com) "
            "nor an IP network (like 203.0.113.7 or 2001:db8::/48)"
        ) from None


Domain = Annotated[str, AfterValidator(check_domain)]
Address = Annotated[str, AfterValidator(check_address)]
Network = Annotated[str, AfterValidator(check_network)]
PasswordHash = Annotated[str, AfterValidator(check_password_hash)]
HostPort = Annotated[str, AfterValidator(check_host_port)]
SpfSource = Annotated[str, AfterValidator(check_spf_source)]

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


_PATH_RE = re.compile(r"/(?:[A-Za-z0-9._+-]+/?)+")
_SFTP_RE = re.compile(r"sftp:[a-z_][a-z0-9_-]{0,31}@(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+:/(?:[A-Za-z0-9._+-]+/?)+")
_CALENDAR_RE = re.compile(r"[A-Za-z0-9*:/,.~ -]{1,64}")


def check_restic_repository(value: str) -> str:
    if ".." in value.split("/") or not (_PATH_RE.fullmatch(value) or _SFTP_RE.fullmatch(value)):
        raise ValueError(
            f"{value!r} is not a restic repository this host can use: an absolute path (letters, digits, . _ + -), "
            "like /srv/backup/february, or sftp:user@host:/path"
        )
    return value


def check_on_calendar(value: str) -> str:
    if not _CALENDAR_RE.fullmatch(value) or value.strip() != value:
        raise ValueError(
            f"{value!r} is not a systemd OnCalendar expression like '*-*-* 03:15:00' or 'daily' "
            "(letters, digits, * : / , . ~ - and single spaces)"
        )
    return value


Domain = Annotated[str, AfterValidator(check_domain)]
Address = Annotated[str, AfterValidator(check_address)]
Network = Annotated[str, AfterValidator(check_network)]
PasswordHash = Annotated[str, AfterValidator(check_password_hash)]
HostPort = Annotated[str, AfterValidator(check_host_port)]
ResticRepository = Annotated[str, AfterValidator(check_restic_repository)]
OnCalendar = Annotated[str, AfterValidator(check_on_calendar)]

"""Checked value types used by the settings model.

Every value here ends up in a rendered file (main.cf, dovecot.conf, the
Rspamd and apt configuration, map files, paths under /var/vmail), so every
check is a whole-string match (``re.fullmatch``: ``$`` would let a trailing
newline through) over a small allowed character set, and nothing is
stripped: whitespace is refused, never trimmed away. Each message says what
is allowed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, StrictBool, StrictInt

from pyinfra_deploys.layout import MILTER_SOCKET_DIR

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"(?:{_LABEL}\.)+[a-z]{{2,63}}")
_HOSTNAME_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
# A dot-atom local part without '/' (it becomes a path under /var/vmail) and
# without a leading '#' (a comment in the map files).
_ATOMS = r"[a-z0-9!#$%&'*+=?^_`{|}~-]+"
_LOCAL_RE = re.compile(rf"(?!.{{65}})(?!#){_ATOMS}(?:\.{_ATOMS})*")
# Exactly one SHA512-CRYPT hash, the scheme Dovecot's passwd-file is told to expect.
_HASH_RE = re.compile(r"(?:\{SHA512-CRYPT\})?\$6\$(?:rounds=[0-9]{1,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}")
_IP_TEXT_RE = re.compile(r"[0-9A-Fa-f.:]{2,45}")  # no '%' scope id, no whitespace
_DESTINATION_RE = re.compile(r"(?:(?:\$myhostname|\$mydomain|[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)\.?)+(?<!\.)")
_BANNER_CHARS = "letters, digits, spaces and $ . _ - : , ( ) / +"
_BANNER_RE = re.compile(r"[A-Za-z0-9 $._:,()/+-]+")
_USERNAME_RE = re.compile(r"[!-9;-~]{1,255}")  # printable ASCII without space and ':'
_URL_RE = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?")
_SELECTOR_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_CLOCK_RE = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")

# The private (RFC 1918), loopback and ULA ranges, declared once: is_private and its messages read them.
PRIVATE_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "::1/128", "fc00::/7")
)


def fullmatch(pattern: re.Pattern[str], value: str, message: str) -> str:
    """``value`` if the whole of it matches ``pattern``; else ValueError(repr(value) + message)."""
    if not pattern.fullmatch(value):
        raise ValueError(f"{value!r} {message}")
    return value


def check_domain(value: str) -> str:
    return fullmatch(
        _DOMAIN_RE,
        value.lower().removesuffix("."),
        "is not a valid domain name (letters, digits and hyphens, dot-separated, like example.test; no spaces)",
    )


def check_address(value: str) -> str:
    value = value.lower()
    local, at, domain = value.rpartition("@")
    message = (
        "is not a mail address like alice@example.test: the part before @ takes letters, digits and "
        "!#$%&'*+=?^_`{|}~- with single dots between them; no '/', no leading '#', no spaces; after @ a domain name"
    )
    try:
        if not at or not _LOCAL_RE.fullmatch(local):
            raise ValueError(local)
        return f"{local}@{check_domain(domain)}"
    except ValueError:
        raise ValueError(f"{value!r} {message}") from None


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv4 or IPv6 address without scope id; ValueError otherwise."""
    if not _IP_TEXT_RE.fullmatch(value):
        raise ValueError(value)
    return ipaddress.ip_address(value)


def parse_network(value: str) -> IPNetwork:
    """A network in CIDR form, IPv6 also in Postfix's bracketed form ``[::1]/128``; host bits refused."""
    address, slash, prefix = value.partition("/")
    if address.startswith("[") and address.endswith("]") and ":" in address:
        address = address[1:-1]
    if not slash or not prefix.isdigit() or not prefix.isascii() or not _IP_TEXT_RE.fullmatch(address):
        raise ValueError("not address/prefix")
    return ipaddress.ip_network(f"{address}/{prefix}", strict=True)


def _network_error(value: str, error: ValueError) -> ValueError:
    return ValueError(f"{value!r} is not a network in CIDR form like 192.168.1.0/24 or [fd00::]/64 ({error})")


def check_network(value: str) -> str:
    """A network as ufw takes it: 192.168.1.0/24, fd00::/64."""
    try:
        return str(parse_network(value))
    except ValueError as error:
        raise _network_error(value, error) from None


def check_postfix_network(value: str) -> str:
    """A network as Postfix's mynetworks takes it: 127.0.0.0/8, [::1]/128."""
    try:
        network = parse_network(value)
    except ValueError as error:
        raise _network_error(value, error) from None
    if network.version == 6:
        return f"[{network.network_address}]/{network.prefixlen}"
    return str(network)


def is_private(value: str) -> bool:
    """True when the network lies inside a private (RFC 1918), loopback or ULA range."""
    network = parse_network(value)
    return any(network.version == p.version and network.subnet_of(p) for p in PRIVATE_NETWORKS)  # type: ignore[arg-type]


def check_password_hash(value: str) -> str:
    if not _HASH_RE.fullmatch(value):
        raise ValueError(
            "is not a password hash: one SHA512-CRYPT hash ({SHA512-CRYPT}$6$... or $6$...) and nothing else; "
            "store a hash, never the password: make one with `february hash-password` or `doveadm pw -s SHA512-CRYPT`"
        )
    return value


def _split_port(value: str) -> tuple[str, str | None]:
    """Split 'host:port' / '[ipv6]:port' into host and port; a bare IPv4 or IPv6 address has port None."""
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or ":" not in host or (rest and not rest.startswith(":")):
            raise ValueError(value)
        return host, rest[1:] if rest else None
    if value.count(":") == 1:
        host, _, port = value.partition(":")
        return host, port
    return value, None  # an IPv4 address without port, or a bare IPv6 address


def _is_port(text: str) -> bool:
    return text.isdigit() and text.isascii() and len(text) <= 5 and 0 < int(text) < 65536


def check_nameserver(value: str) -> str:
    """An IP address with an optional port: 127.0.0.1, 127.0.0.1:53, [::1]:53, ::1."""
    try:
        host, port = _split_port(value)
        parse_ip(host)
        ok = port is None or _is_port(port)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"{value!r} is not an IP address with an optional :port, like 127.0.0.1, 127.0.0.1:53 or [::1]:53 "
            "(no scope id, no spaces)"
        )
    return value


# Postfix's smtpd and cleanup run chrooted (layout.POSTFIX_CHROOT): a milter's
# unix socket must be inside it, and Postfix names it relative to it.
_MILTER_SOCKET_RE = re.compile(re.escape(MILTER_SOCKET_DIR) + r"/[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")


def check_milter(value: str) -> str:
    """Where Rspamd's milter listens: a loopback address with a port, or a unix socket in MILTER_SOCKET_DIR.

    Anything else (0.0.0.0, a LAN address) would let other hosts talk to the
    milter, with only the firewall in front of it.
    """
    message = (
        "is not a place the milter may listen: a loopback address with a port (127.0.0.1:11332, [::1]:11332, "
        f"localhost:11332) or a unix socket in {MILTER_SOCKET_DIR}/ (like {MILTER_SOCKET_DIR}/milter.sock, inside "
        "Postfix's chroot); any other address lets hosts beyond this one reach Rspamd"
    )
    if value.startswith("/"):
        return fullmatch(_MILTER_SOCKET_RE, value, message)
    try:
        host, port = _split_port(value)
        loopback = host == "localhost" or parse_ip(host).is_loopback
        ok = loopback and port is not None and _is_port(port)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{value!r} {message}")
    return value


def check_host(value: str) -> str:
    """A host name (letters, digits, hyphens, dot-separated) or an IP literal."""
    try:
        return str(parse_ip(value))
    except ValueError:
        pass
    return fullmatch(
        _HOSTNAME_RE,
        value.lower(),
        "is not a host name (letters, digits and hyphens, dot-separated) or an IP address like 192.0.2.1",
    )


def check_url(value: str) -> str:
    message = "is not a proxy URL of the form http(s)://host[:port][/path] (path: letters, digits and . _ ~ / -)"
    fullmatch(_URL_RE, value, message)
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (raises for a port out of range)
        check_host(parts.hostname or "")
    except ValueError:
        raise ValueError(f"{value!r} {message}") from None
    if parts.scheme not in ("http", "https") or parts.username or parts.query or parts.fragment:
        raise ValueError(f"{value!r} {message}")
    return value


def check_acme_server(value: str) -> str:
    """An ACME directory URL: https only (the account key and the certificate order travel over it)."""
    message = "is not an ACME directory URL of the form https://host[:port][/path] (path: letters, digits and . _ ~ / -)"
    try:
        check_url(value)
    except ValueError:
        raise ValueError(f"{value!r} {message}") from None
    if not value.startswith("https://"):
        raise ValueError(f"{value!r} {message}; plain http is refused")
    return value


def check_banner(value: str) -> str:
    return fullmatch(_BANNER_RE, value, f"is not a banner: only {_BANNER_CHARS} (no '#', no newlines)")


def check_username(value: str) -> str:
    return fullmatch(_USERNAME_RE, value, "is not a SASL user name: 1 to 255 printable ASCII characters, no spaces and no ':'")


def check_destination(value: str) -> str:
    return fullmatch(
        _DESTINATION_RE,
        value,
        "is not a mydestination entry: a domain name, 'localhost', $myhostname or $mydomain (like localhost.$mydomain)",
    )


def check_selector(value: str) -> str:
    return fullmatch(
        _SELECTOR_RE, value, "is not a DKIM selector: a lowercase letter or digit, then up to 62 lowercase letters, digits or '-'"
    )


def check_clock(value: str) -> str:
    return fullmatch(_CLOCK_RE, value, "is not a time of day as HH:MM on a 24-hour clock, like 04:30")


def between(low: int, high: int, unit: str = "") -> Callable[[int], int]:
    """A check that an integer lies in [low, high], naming both bounds."""

    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range: give an integer from {low} to {high}{unit}")
        return value

    return check


_REPO_PATH_RE = re.compile(r"/(?:[A-Za-z0-9._+-]+/?)+")
_SFTP_RE = re.compile(r"sftp:[a-z_][a-z0-9_-]{0,31}@(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+:/(?:[A-Za-z0-9._+-]+/?)+")
_CALENDAR_RE = re.compile(r"[A-Za-z0-9*:/,.~-]+(?: [A-Za-z0-9*:/,.~-]+)*")


def check_restic_repository(value: str) -> str:
    message = (
        "is not a restic repository this host can use: an absolute path (letters, digits, . _ + -), "
        "like /srv/backup/february, or sftp:user@host:/path"
    )
    if ".." in value.split("/"):
        raise ValueError(f"{value!r} {message}")
    return fullmatch(_SFTP_RE if value.startswith("sftp:") else _REPO_PATH_RE, value, message)


def check_on_calendar(value: str) -> str:
    return fullmatch(
        _CALENDAR_RE if len(value) <= 64 else re.compile("(?!)"),
        value,
        "is not a systemd OnCalendar expression like '*-*-* 03:15:00' or 'daily' (letters, digits, * : / , . ~ - and single spaces)",
    )


# The widest sending network an SPF record may authorise for the relay: a
# provider's range is narrower; 0.0.0.0/0 would be "+all".
SPF_WIDEST_PREFIX = {4: 16, 6: 32}


def check_spf_source(value: str) -> str:
    """A domain (SPF ``include:``) or an IP network (``ip4:``/``ip6:``): who sends for the smarthost."""
    try:
        network = ipaddress.ip_network(value, strict=True)  # a bare address is its /32 (/128)
    except ValueError:
        pass
    else:
        widest = SPF_WIDEST_PREFIX[network.version]
        if network.prefixlen < widest:
            raise ValueError(
                f"{value!r} is wider than /{widest}: SPF would let every host in it send as your domains; "
                "name the relay's own SPF domain (include:, like spf.messagingengine.com) or its sending network"
            )
        return str(network)
    try:
        return check_domain(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither a domain whose SPF record lists the relay's senders (like spf.messagingengine.com) "
            "nor an IP network (like 203.0.113.7 or 2001:db8::/48)"
        ) from None


MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True)
class Allowed:
    """What a type admits, in words, beside its check: the settings reference (settings/reference.py) prints it."""

    text: str


Domain = Annotated[str, AfterValidator(check_domain), Allowed("a domain name, like example.test")]
Host = Annotated[
    str, AfterValidator(check_host), Allowed("a host name (letters, digits, hyphens, dot-separated) or an IP address")
]
Address = Annotated[str, AfterValidator(check_address), Allowed("a mail address, like alice@example.test")]
Network = Annotated[
    str, AfterValidator(check_network), Allowed("an IP network as UFW takes it, like 192.168.1.0/24 or fd00::/64")
]
PostfixNetwork = Annotated[
    str, AfterValidator(check_postfix_network), Allowed("an IP network as Postfix takes it, like 127.0.0.0/8 or [::1]/128")
]
PasswordHash = Annotated[str, AfterValidator(check_password_hash), Allowed("one SHA512-CRYPT hash (february hash-password)")]
Milter = Annotated[
    str, AfterValidator(check_milter), Allowed(f"a loopback address with a port, or a unix socket in {MILTER_SOCKET_DIR}")
]
Nameserver = Annotated[str, AfterValidator(check_nameserver), Allowed("an IP address with an optional port, like 127.0.0.1:53")]
ProxyUrl = Annotated[str, AfterValidator(check_url), Allowed("http(s)://host[:port][/path]")]
Banner = Annotated[str, AfterValidator(check_banner), Allowed(f"{_BANNER_CHARS}, starting with $myhostname or the host name")]
Username = Annotated[str, AfterValidator(check_username), Allowed("1 to 255 printable ASCII characters, no spaces, no ':'")]
Destination = Annotated[
    str, AfterValidator(check_destination), Allowed("a domain name, $myhostname or $mydomain, or names under them")
]
Selector = Annotated[str, AfterValidator(check_selector), Allowed("a lowercase letter or digit, then up to 62 of them or '-'")]
Port = Annotated[StrictInt, AfterValidator(between(1, 65535)), Allowed("a TCP port, 1 to 65535")]
MessageSize = Annotated[
    StrictInt, AfterValidator(between(MIB, 2 * GIB, " bytes (1 MiB to 2 GiB)")), Allowed("bytes, 1 MiB to 2 GiB")
]
Flag = StrictBool
Clock = Annotated[str, AfterValidator(check_clock), Allowed("HH:MM on a 24-hour clock")]
# A self-signed certificate's life: current clients refuse server
# certificates valid for more than 398 days, and Mozilla's TLS profile check
# (sslyze) wants less than 366; renewed 30 days before its end.
CertificateDays = Annotated[StrictInt, AfterValidator(between(60, 365, " days")), Allowed("60 to 365 days")]
PerMinute = Annotated[StrictInt, AfterValidator(between(1, 100000, " per minute")), Allowed("1 to 100000 per minute")]
Concurrency = Annotated[StrictInt, AfterValidator(between(1, 1000, " connections")), Allowed("1 to 1000 connections")]
DelaySeconds = Annotated[StrictInt, AfterValidator(between(0, 15, " seconds")), Allowed("0 to 15 seconds")]
ResticRepository = Annotated[
    str, AfterValidator(check_restic_repository), Allowed("an absolute path on the host, or sftp:user@host:/path")
]
AcmeServer = Annotated[str, AfterValidator(check_acme_server), Allowed("https://host[:port][/path]")]
OnCalendar = Annotated[str, AfterValidator(check_on_calendar), Allowed("a systemd OnCalendar expression, like '*-*-* 03:15:00'")]
SpfSource = Annotated[
    str, AfterValidator(check_spf_source), Allowed("a domain for SPF include:, or the relay's sending network (/16 or narrower)")
]


# ----- local files: settings that are paths, whose content is what the host gets -----


def check_password_line(content: str) -> str:
    """The relay password: one non-empty line (a final newline is fine), no control characters, no outer spaces."""
    value = content.removesuffix("\n")
    if not value:
        raise ValueError("is empty; write the password on one line")
    if "\n" in value or "\r" in value:
        raise ValueError("has more than one line; write only the password, on one line")
    if not value.isprintable():
        raise ValueError("holds control characters (tab, escape, ...); the password must be printable text")
    if value != value.strip():
        raise ValueError("starts or ends with a space; postmap would drop it: remove it")
    return value


def check_hash_line(content: str) -> str:
    """A mailbox hash file: exactly one SHA512-CRYPT hash, one line (a final newline is fine)."""
    value = content.removesuffix("\n")
    if "\n" in value:
        raise ValueError("has more than one line; it must hold exactly one SHA512-CRYPT hash")
    return check_password_hash(value)


def check_ssh_private_key(content: str) -> str:
    """An OpenSSH private key (unencrypted: root runs it unattended), as ssh-keygen writes it."""
    lines = content.strip().splitlines()
    if (
        len(lines) < 3
        or lines[0] != "-----BEGIN OPENSSH PRIVATE KEY-----"
        or lines[-1] != "-----END OPENSSH PRIVATE KEY-----"
        or not all(re.fullmatch(r"[A-Za-z0-9+/=]+", line) for line in lines[1:-1])
    ):
        raise ValueError("is not an OpenSSH private key (ssh-keygen -t ed25519 -N '' -f FILE writes one)")
    return "\n".join(lines) + "\n"


def check_credentials(content: str) -> str:
    """A DNS plugin's credentials file (certbot's INI, Google's JSON): placed as it is; only refused when empty."""
    if not content.strip():
        raise ValueError("is empty; it must hold the DNS plugin's credentials (see the plugin's documentation)")
    if "\0" in content:
        raise ValueError("holds a NUL byte; it must be a text file")
    return content


@dataclass(frozen=True)
class LocalFile:
    """Marks a settings field as the path of a local file whose content the deploy reads (a secret, a certificate).

    ``parse`` checks the content and returns the value used (None: any UTF-8 text,
    placed as it is); ``secret``: the file must be readable by its owner only.
    rules.secret_files finds every field so marked: the checks, the reading and
    the converge stamp's digest follow the model, with no list kept by hand.
    """

    parse: Callable[[str], str] | None
    secret: bool = True


PasswordFile = Annotated[Path, LocalFile(check_password_line)]
HashFile = Annotated[Path, LocalFile(check_hash_line)]
SshKeyFile = Annotated[Path, LocalFile(check_ssh_private_key)]
PrivateKeyFile = Annotated[Path, LocalFile(None)]
CredentialsFile = Annotated[Path, LocalFile(check_credentials)]
CertificateFile = Annotated[Path, LocalFile(None, secret=False)]  # public: any mode

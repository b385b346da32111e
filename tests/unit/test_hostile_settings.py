"""Every setting is hostile until validated: one table of hostile values, each refused naming its key.

A row is (key path, hostile value, key the error must name, words the
message must hold). A ``File`` value is written as a secret file first (with
its mode, or as a symlink leaving the secrets folder) and its path is set.
The path () replaces the whole ``february`` value.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pyinfra_deploys.settings import SettingsError, load_settings
from pyinfra_deploys.settings.load import read_secrets

HASH = "$6$" + "s" * 16 + "$" + "h" * 86
MAILBOX = {"hashed_password": HASH}
PASSWORD = ("smarthost", "password_file")
HASH_FILE = ("mailboxes", "you@yourdomain.com", "hashed_password_file")
INJECT = "\nrelay_domains = static:ALL"
SMARTHOST = {"host": "smtp.fastmail.com", "username": "you@fastmail.com", "password_file": "smarthost.password"}


@dataclass(frozen=True)
class File:
    content: str
    mode: int = 0o600
    symlink_out: bool = False  # a symlink in the secrets folder to a file elsewhere


HOSTILE: list[tuple[tuple[str, ...], Any, str, list[str]]] = [
    # ----- newlines and other characters that add a line or a parameter -----
    (("banner",), "$myhostname ESMTP" + INJECT, "banner", ["no newlines"]),
    (("banner",), "$myhostname ESMTP\n", "banner", ["no newlines"]),
    (("banner",), "$myhostname\tESMTP", "banner", ["only letters"]),
    (("banner",), "$myhostname ESMTP # comment", "banner", ["no '#'"]),
    (("banner",), "", "banner", ["only letters"]),
    (("mydestination",), ["localhost" + INJECT], "mydestination.0", ["mydestination entry"]),
    (("mydestination",), ["localhost, evil.test"], "mydestination.0", ["mydestination entry"]),
    (("mynetworks",), ["127.0.0.0/8" + INJECT], "mynetworks.0", ["CIDR"]),
    (("mynetworks",), ["127.0.0.0/8 0.0.0.0/0"], "mynetworks.0", ["CIDR"]),
    (("mynetworks",), ["[fe80::1%eth0]/128"], "mynetworks.0", ["CIDR"]),
    (("mynetworks",), ["127.0.0.1/8"], "mynetworks.0", ["CIDR"]),
    (("submission_networks",), ["10.0.2.0/24\n"], "submission_networks.0", ["CIDR"]),
    (("smarthost", "host"), "smtp.fastmail.com" + INJECT, "smarthost.host", ["host name"]),
    (("smarthost", "host"), "fe80::1%eth0", "smarthost.host", ["host name"]),
    (("smarthost", "host"), "smtp.fastmail.com]:25", "smarthost.host", ["host name"]),
    (("rspamd", "milter"), "fe80::1%eth0" + INJECT + ":11332", "rspamd.milter", ["loopback address with a port"]),
    (("rspamd", "milter"), "127.0.0.1: 11332", "rspamd.milter", ["loopback address with a port"]),
    (("rspamd", "milter"), "127.0.0.1:1_1332", "rspamd.milter", ["loopback address with a port"]),
    (("rspamd", "milter"), "127.0.0.1:70000", "rspamd.milter", ["loopback address with a port"]),
    (("rspamd", "milter"), "::1:11332", "rspamd.milter", ["loopback address with a port"]),
    # ----- a milter reachable beyond this host, or outside Postfix's chroot -----
    (("rspamd", "milter"), "0.0.0.0:11332", "rspamd.milter", ["beyond this one", "127.0.0.1:11332"]),
    (("rspamd", "milter"), "[::]:11332", "rspamd.milter", ["beyond this one"]),
    (("rspamd", "milter"), "192.168.1.5:11332", "rspamd.milter", ["beyond this one"]),
    (("rspamd", "milter"), "[::ffff:127.0.0.1]:11332", "rspamd.milter", ["beyond this one"]),
    (("rspamd", "milter"), "mail.yourdomain.com:11332", "rspamd.milter", ["beyond this one"]),
    (("rspamd", "milter"), "127.0.0.1", "rspamd.milter", ["with a port"]),
    (("rspamd", "milter"), "localhost", "rspamd.milter", ["with a port"]),
    (("rspamd", "milter"), "inet:127.0.0.1:11332", "rspamd.milter", ["with a port"]),
    (("rspamd", "milter"), "/run/rspamd/milter.sock", "rspamd.milter", ["unix socket in /var/spool/postfix/rspamd/"]),
    (("rspamd", "milter"), "/var/spool/postfix/rspamd/../x", "rspamd.milter", ["unix socket in"]),
    (("rspamd", "milter"), "/var/spool/postfix/rspamd/m.sock mode=0777", "rspamd.milter", ["unix socket in"]),
    (("hostname",), "mail.yourdomain.com" + INJECT, "hostname", ["not a valid domain"]),
    (("domain",), "yourdomain.com\n", "domain", ["not a valid domain"]),
    (("mailname",), " mail.yourdomain.com", "mailname", ["not a valid domain"]),
    (("virtual_domains",), ["yourdomain.com\n"], "virtual_domains.0", ["not a valid domain"]),
    (("mailboxes",), {"you\n@yourdomain.com": MAILBOX}, "mailboxes.'you\\n@yourdomain.com'", ["not a mail address"]),
    (("mailboxes",), {"you@yourdomain.com\n": MAILBOX}, "mailboxes.'you@yourdomain.com\\n'", ["not a mail address"]),
    (
        ("aliases",),
        {"postmaster@yourdomain.com": ["you@yourdomain.com\nx"]},
        "aliases.postmaster@yourdomain.com.0",
        ["not a mail address"],
    ),
    (("rspamd", "dkim_selector"), "february\n", "rspamd.dkim_selector", ["DKIM selector"]),
    (("rspamd", "dkim_selector"), "feb/../x", "rspamd.dkim_selector", ["DKIM selector"]),
    # ----- local parts that become paths under /var/vmail or comments in map files -----
    (("mailboxes",), {"#you@yourdomain.com": MAILBOX}, "mailboxes.#you@yourdomain.com", ["no leading '#'"]),
    (("mailboxes",), {"a/b@yourdomain.com": MAILBOX}, "mailboxes.a/b@yourdomain.com", ["no '/'"]),
    (("mailboxes",), {"a..b@yourdomain.com": MAILBOX}, "mailboxes.a..b@yourdomain.com", ["single dots"]),
    (("mailboxes",), {".you@yourdomain.com": MAILBOX}, "mailboxes..you@yourdomain.com", ["single dots"]),
    (("mailboxes",), {"you.@yourdomain.com": MAILBOX}, "mailboxes.you.@yourdomain.com", ["single dots"]),
    (("aliases",), {"../x@yourdomain.com": ["you@yourdomain.com"]}, "aliases.../x@yourdomain.com", ["no '/'"]),
    # ----- alias loops: Postfix accepts them and bounces every message to their addresses -----
    (
        ("aliases",),
        {"a@yourdomain.com": ["a@yourdomain.com"]},
        "aliases.a@yourdomain.com",
        ["a@yourdomain.com -> a@yourdomain.com"],
    ),
    (
        ("aliases",),
        {"a@yourdomain.com": ["b@yourdomain.com"], "b@yourdomain.com": ["a@yourdomain.com"]},
        "aliases.a@yourdomain.com",
        ["alias loop: a@yourdomain.com -> b@yourdomain.com -> a@yourdomain.com"],
    ),
    (
        ("aliases",),
        {
            "c@yourdomain.com": ["you@yourdomain.com", "a@yourdomain.com"],
            "a@yourdomain.com": ["b@yourdomain.com"],
            "b@yourdomain.com": ["c@yourdomain.com"],
        },
        "aliases.a@yourdomain.com",
        ["a@yourdomain.com -> b@yourdomain.com -> c@yourdomain.com -> a@yourdomain.com"],
    ),
    # ----- two keys that differ only in case -----
    (("mailboxes",), {"you@yourdomain.com": MAILBOX, "You@yourdomain.com": MAILBOX}, "mailboxes", ["same address"]),
    (
        ("aliases",),
        {"a@yourdomain.com": ["you@yourdomain.com"], "A@YourDomain.com": ["you@yourdomain.com"]},
        "aliases",
        ["same address"],
    ),
    # ----- wide networks without their opt-in -----
    (("mynetworks",), ["0.0.0.0/0"], "mynetworks.0", ["allow_public_mynetworks: true"]),
    (("mynetworks",), ["::/0"], "mynetworks.0", ["allow_public_mynetworks: true"]),
    (("mynetworks",), ["127.0.0.0/8", "203.0.113.0/24"], "mynetworks.1", ["allow_public_mynetworks: true"]),
    (("submission_networks",), ["0.0.0.0/0"], "submission_networks.0", ["allow_public_submission_networks: true"]),
    (("submission_networks",), ["2001:db8::/32"], "submission_networks.0", ["allow_public_submission_networks: true"]),
    (("submission_networks",), ["10.0.0.0/7"], "submission_networks.0", ["allow_public_submission_networks: true"]),
    (("firewall",), {"enabled": False}, "firewall.enabled", ["i_accept_no_firewall: true"]),
    # ----- booleans and strings where integers or booleans belong, and bounds -----
    (("smarthost", "port"), True, "smarthost.port", ["valid integer"]),
    (("smarthost", "port"), "587", "smarthost.port", ["valid integer"]),
    (("smarthost", "port"), 0, "smarthost.port", ["from 1 to 65535"]),
    (("firewall", "ssh_port"), True, "firewall.ssh_port", ["valid integer"]),
    (("firewall", "ssh_port"), 65536, "firewall.ssh_port", ["from 1 to 65535"]),
    (("message_size_limit",), True, "message_size_limit", ["valid integer"]),
    (("message_size_limit",), 52428800.0, "message_size_limit", ["valid integer"]),
    (("message_size_limit",), 2**63, "message_size_limit", ["from 1048576 to 2147483648", "1 MiB to 2 GiB"]),
    (("message_size_limit",), 1000, "message_size_limit", ["from 1048576 to 2147483648"]),
    (("firewall", "enabled"), "no", "firewall.enabled", ["valid boolean"]),
    (("allow_public_mynetworks",), "yes", "allow_public_mynetworks", ["valid boolean"]),
    # ----- quotes that break out of a rendered string -----
    (("rspamd", "nameservers"), ['1.1.1.1"]; foo = "bar'], "rspamd.nameservers.0", ["IP address"]),
    (("rspamd", "nameservers"), ["dns.google"], "rspamd.nameservers.0", ["IP address"]),
    (("rspamd", "nameservers"), ["1.1.1.1:99999"], "rspamd.nameservers.0", ["IP address"]),
    (("apt_proxy",), 'http://cache:3142/"; APT::Update::Pre-Invoke {"touch /tmp/pwned"}; //', "apt_proxy", ["http(s)://host"]),
    (("apt_proxy",), "http://cache:3142/\n", "apt_proxy", ["http(s)://host"]),
    (("apt_proxy",), "http://user:secret@cache:3142/", "apt_proxy", ["http(s)://host"]),
    (("apt_proxy",), "ftp://cache/", "apt_proxy", ["http(s)://host"]),
    (("apt_proxy",), "http://cache:99999/", "apt_proxy", ["http(s)://host"]),
    (("apt_proxy",), "http://cache/?x=1", "apt_proxy", ["http(s)://host"]),
    # ----- the relay user name in sasl_passwd -----
    (("smarthost", "username"), "you@fastmail.com pw", "smarthost.username", ["no spaces"]),
    (("smarthost", "username"), "you:x", "smarthost.username", ["no ':'"]),
    (("smarthost", "username"), "you\n[evil.test]:25", "smarthost.username", ["no spaces"]),
    (("smarthost", "username"), "", "smarthost.username", ["1 to 255"]),
    # ----- an inline hash: one SHA512-CRYPT hash and nothing else -----
    (
        ("mailboxes",),
        {"you@yourdomain.com": {"hashed_password": "{PLAIN}hunter2"}},
        "mailboxes.you@yourdomain.com.hashed_password",
        ["SHA512-CRYPT"],
    ),
    (
        ("mailboxes",),
        {"you@yourdomain.com": {"hashed_password": HASH + ":0:0::/root:/bin/sh"}},
        "mailboxes.you@yourdomain.com.hashed_password",
        ["SHA512-CRYPT"],
    ),
    (
        ("mailboxes",),
        {"you@yourdomain.com": {"hashed_password": HASH + "\n"}},
        "mailboxes.you@yourdomain.com.hashed_password",
        ["SHA512-CRYPT"],
    ),
    (
        ("mailboxes",),
        {"you@yourdomain.com": {"hashed_password": "$5$" + HASH[3:]}},
        "mailboxes.you@yourdomain.com.hashed_password",
        ["SHA512-CRYPT"],
    ),
    # ----- secret files: owner-only modes, exact content, no symlink out -----
    (PASSWORD, File("pw\n", mode=0o640), "smarthost.password_file", ["mode 0640", "chmod 600"]),
    (PASSWORD, File("pw\n", mode=0o602), "smarthost.password_file", ["mode 0602"]),
    (PASSWORD, File("pw\n", mode=0o644), "smarthost.password_file", ["mode 0644"]),
    (PASSWORD, File("\n"), "smarthost.password_file", ["is empty"]),
    (PASSWORD, File("pw\nsecond line\n"), "smarthost.password_file", ["more than one line"]),
    (PASSWORD, File("pw\x1b[31m\n"), "smarthost.password_file", ["control characters"]),
    (PASSWORD, File(" pw\n"), "smarthost.password_file", ["space"]),
    (PASSWORD, File("pw\n", symlink_out=True), "smarthost.password_file", ["outside"]),
    (HASH_FILE, File(HASH + "\n" + HASH + "\n"), "mailboxes.you@yourdomain.com.hashed_password_file", ["more than one line"]),
    (HASH_FILE, File("hunter2\n"), "mailboxes.you@yourdomain.com.hashed_password_file", ["SHA512-CRYPT"]),
    (HASH_FILE, File(HASH + ":1000:1000::/tmp:/bin/sh\n"), "mailboxes.you@yourdomain.com.hashed_password_file", ["SHA512-CRYPT"]),
    (HASH_FILE, File(HASH + "\n", mode=0o640), "mailboxes.you@yourdomain.com.hashed_password_file", ["chmod 600"]),
    (HASH_FILE, File(HASH + "\n", symlink_out=True), "mailboxes.you@yourdomain.com.hashed_password_file", ["outside"]),
    # ----- TLS, relay verification, limits and updates -----
    (("tls", "profile"), "old", "tls.profile", ["'intermediate' or 'modern'"]),
    (("tls", "profile"), "intermediate\n", "tls.profile", ["'intermediate' or 'modern'"]),
    (("tls", "self_signed_days"), 825, "tls.self_signed_days", ["from 60 to 365 days"]),
    (("tls", "self_signed_days"), 366, "tls.self_signed_days", ["from 60 to 365 days"]),
    (("tls", "self_signed_days"), 0, "tls.self_signed_days", ["from 60 to 365 days"]),
    (("tls", "self_signed_days"), "365", "tls.self_signed_days", ["valid integer"]),
    (("tls", "self_signed_days"), True, "tls.self_signed_days", ["valid integer"]),
    (("smarthost", "tls_verify"), "encrypt", "smarthost.tls_verify", ["'verify' or 'encrypt-only'"]),
    (("smarthost", "tls_verify"), False, "smarthost.tls_verify", ["'verify' or 'encrypt-only'"]),
    (("smarthost", "ca_file"), "no-such-ca.pem", "smarthost.ca_file", ["does not exist"]),
    (("tls",), {"source": "self-signed", "key_file": "mail.key"}, "tls", ["only used with source 'files'"]),
    (("tls",), {"source": "acme"}, "tls", ["source 'acme' needs acme"]),
    (("tls", "source"), "letsencrypt", "tls.source", ["'self-signed', 'files' or 'acme'"]),
    (
        ("tls", "acme"),
        {"email": "a@yourdomain.com", "dns_plugin": "rfc2136"},
        "tls.acme.credentials_file",
        ["required setting is missing"],
    ),
    (
        ("tls",),
        {"source": "acme", "acme": {"email": "a@yourdomain.com\n#", "dns_plugin": "rfc2136", "credentials_file": "x"}},
        "tls.acme.email",
        ["not"],
    ),
    (
        ("tls",),
        {"source": "acme", "acme": {"email": "a@yourdomain.com", "dns_plugin": "bind9", "credentials_file": "x"}},
        "tls.acme.dns_plugin",
        ["'cloudflare'", "'rfc2136'"],
    ),
    (
        ("tls",),
        {
            "source": "acme",
            "acme": {"email": "a@b.example", "dns_plugin": "rfc2136", "credentials_file": "x", "server": "http://ca.example/dir"},
        },
        "tls.acme.server",
        ["https://", "plain http is refused"],
    ),
    (
        ("tls",),
        {
            "source": "acme",
            "acme": {"email": "a@b.example", "dns_plugin": "rfc2136", "credentials_file": "x", "server": "https://ca/dir x"},
        },
        "tls.acme.server",
        ["not an ACME directory URL"],
    ),
    (
        ("tls",),
        {
            "source": "acme",
            "acme": {"email": "a@b.example", "dns_plugin": "rfc2136", "credentials_file": "x", "propagation_seconds": 7200},
        },
        "tls.acme.propagation_seconds",
        ["less than or equal to 3600"],
    ),
    (
        ("tls",),
        {
            "source": "acme",
            "acme": {"email": "a@b.example", "dns_plugin": "rfc2136", "credentials_file": "x", "propagation_seconds": "5\n"},
        },
        "tls.acme.propagation_seconds",
        ["valid integer"],
    ),
    (
        ("smarthost",),
        {**SMARTHOST, "tls_verify": "encrypt-only", "ca_file": "ca.pem"},
        "smarthost",
        ["only used with tls_verify 'verify'"],
    ),
    (("limits", "connections_per_minute"), 0, "limits.connections_per_minute", ["from 1 to 100000 per minute"]),
    (("limits", "connections_per_minute"), "30", "limits.connections_per_minute", ["valid integer"]),
    (("limits", "messages_per_minute"), -1, "limits.messages_per_minute", ["from 1 to 100000"]),
    (("limits", "messages_per_minute"), 60.0, "limits.messages_per_minute", ["valid integer"]),
    (("limits", "concurrent_connections"), 1001, "limits.concurrent_connections", ["from 1 to 1000 connections"]),
    (("limits", "concurrent_connections"), True, "limits.concurrent_connections", ["valid integer"]),
    (("limits", "auth_failure_delay"), 16, "limits.auth_failure_delay", ["from 0 to 15 seconds"]),
    (("generations", "keep"), 1, "generations.keep", ["greater than or equal to 2"]),
    (("generations", "keep"), 1001, "generations.keep", ["less than or equal to 1000"]),
    (("generations", "keep"), "10\n#", "generations.keep", ["valid integer"]),
    (("generations", "keep"), "", "generations.keep", ["valid integer"]),
    (("limits", "auth_failure_delay"), "2s", "limits.auth_failure_delay", ["valid integer"]),
    (("limits", "rate"), 5, "limits.rate", ["unknown setting"]),
    (("updates", "reboot_time"), "4:30", "updates.reboot_time", ["HH:MM"]),
    (("updates", "reboot_time"), "24:00", "updates.reboot_time", ["HH:MM"]),
    (("updates", "reboot_time"), "04:30\n", "updates.reboot_time", ["HH:MM"]),
    (("updates", "reboot_time"), '04:30";', "updates.reboot_time", ["HH:MM"]),
    (("updates", "reboot"), "yes", "updates.reboot", ["valid boolean"]),
    (("updates", "enabled"), 1, "updates.enabled", ["valid boolean"]),
    # ----- a `february` value that is not a dict -----
    ((), ["hostname", "mail.yourdomain.com"], "", ["must be a dict", "list"]),
    ((), "hostname: mail.yourdomain.com", "", ["must be a dict", "str"]),
    ((), None, "", ["must be a dict", "NoneType"]),
]


def test_each_row_is_its_own_case() -> None:
    """A pasted duplicate would be a row that tests nothing new (each row's own refusal is the test below)."""
    rows = [(path, repr(value)) for path, value, _key, _words in HOSTILE]
    assert len(rows) == len(set(rows)), [row for row in rows if rows.count(row) > 1]


def materialise(value: Any, secrets_dir: Path) -> Any:
    if not isinstance(value, File):
        return value
    if value.symlink_out:
        outside = secrets_dir.parent / "elsewhere"
        outside.mkdir(exist_ok=True)
        target = outside / "target"
        target.write_text(value.content)
        target.chmod(value.mode)
        link = secrets_dir / "hostile-link"
        link.symlink_to(target)
        return str(link)
    path = secrets_dir / "hostile"
    path.write_text(value.content)
    path.chmod(value.mode)
    return str(path)


def set_path(data: Any, path: tuple[str, ...], value: Any) -> Any:
    if not path:
        return value
    data = copy.deepcopy(data)
    node = data
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "key", "words"), HOSTILE, ids=[f"{i}-{'.'.join(row[0]) or 'february'}" for i, row in enumerate(HOSTILE)]
)
def test_a_hostile_value_is_refused_naming_its_key(
    sample: dict[str, Any], secrets_dir: Path, path: tuple[str, ...], value: Any, key: str, words: list[str]
) -> None:
    data = set_path(sample, path, materialise(value, secrets_dir))
    with pytest.raises(SettingsError) as caught:
        load_settings(data)
    problems = dict(caught.value.problems)
    assert key in problems, caught.value.problems
    for word in words:
        assert word in problems[key], problems[key]
    assert f"february.{key}:" in str(caught.value) if key else "  february: " in str(caught.value)


VALID: list[tuple[tuple[str, ...], Any, Any]] = [
    (("mynetworks",), ["127.0.0.0/8", "::1/128"], ["127.0.0.0/8", "[::1]/128"]),
    (("mynetworks",), ["127.0.0.0/8", "[::1]/128", "[fd00::]/64"], ["127.0.0.0/8", "[::1]/128", "[fd00::]/64"]),
    (("submission_networks",), ["10.0.2.0/24", "fd00::/64"], ["10.0.2.0/24", "fd00::/64"]),
    (("banner",), "mail.yourdomain.com ESMTP", "mail.yourdomain.com ESMTP"),
    (("banner",), "$myhostname ESMTP $mail_name ($mail_version)", "$myhostname ESMTP $mail_name ($mail_version)"),
    (("rspamd", "nameservers"), ["127.0.0.1", "10.0.2.3:53", "[::1]:53", "::1"], ["127.0.0.1", "10.0.2.3:53", "[::1]:53", "::1"]),
    (("apt_proxy",), "http://10.0.2.2:3142/", "http://10.0.2.2:3142/"),
    (("apt_proxy",), "https://apt-cache.lan/debian", "https://apt-cache.lan/debian"),
    (("smarthost", "host"), "10.0.2.100", "10.0.2.100"),
    (("smarthost", "username"), "february-vm@relay.example.net", "february-vm@relay.example.net"),
    (("message_size_limit",), 2 * 1024**3, 2 * 1024**3),
    (("rspamd", "milter"), "localhost:11332", "localhost:11332"),
    (("rspamd", "milter"), "127.0.0.2:11332", "127.0.0.2:11332"),
    (("rspamd", "milter"), "[::1]:11332", "[::1]:11332"),
    (("rspamd", "milter"), "/var/spool/postfix/rspamd/milter.sock", "/var/spool/postfix/rspamd/milter.sock"),
    (
        ("aliases",),
        {"a@yourdomain.com": ["b@yourdomain.com"], "b@yourdomain.com": ["you@yourdomain.com", "a@example.org"]},
        {"a@yourdomain.com": ["b@yourdomain.com"], "b@yourdomain.com": ["you@yourdomain.com", "a@example.org"]},
    ),
    (
        ("mailboxes",),
        {"first.last+tag@yourdomain.com": MAILBOX},
        {"first.last+tag@yourdomain.com": {"hashed_password": HASH, "hashed_password_file": None}},
    ),
]


@pytest.mark.parametrize(("path", "value", "expected"), VALID)
def test_a_valid_value_passes_in_its_normal_form(
    sample: dict[str, Any], path: tuple[str, ...], value: Any, expected: Any
) -> None:
    settings = load_settings(set_path(sample, path, value))
    got: Any = settings.model_dump()
    for part in path:
        got = got[part]
    assert got == expected


@pytest.mark.parametrize(
    ("opt_in", "key", "value"),
    [
        ({"allow_public_mynetworks": True}, "mynetworks", ["0.0.0.0/0"]),
        ({"allow_public_submission_networks": True}, "submission_networks", ["0.0.0.0/0", "::/0"]),
        ({"firewall": {"i_accept_no_firewall": True}}, "firewall", {"enabled": False}),
    ],
)
def test_an_opt_in_allows_its_dangerous_value(sample: dict[str, Any], opt_in: dict[str, Any], key: str, value: Any) -> None:
    with pytest.raises(SettingsError, match=key):
        load_settings(dict(sample, **{key: value}))
    settings = load_settings(dict(sample, **{key: value}), opt_in).model_dump()
    for name, wanted in opt_in.items():
        assert settings[name] == wanted if not isinstance(wanted, dict) else settings[name].items() >= wanted.items()
    assert settings[key] == value if not isinstance(value, dict) else settings[key].items() >= value.items()


def test_check_reads_the_secret_contents_and_a_bake_does_not(sample: dict[str, Any]) -> None:
    Path(sample["smarthost"]["password_file"]).write_text("two\nlines\n")
    with pytest.raises(SettingsError, match="more than one line"):
        load_settings(sample)
    assert load_settings(sample, check_files=False).smarthost is not None  # a bake validates, reads no file
    with pytest.raises(SettingsError) as caught:
        read_secrets(load_settings(sample, check_files=False))
    assert "more than one line" in dict(caught.value.problems)["smarthost.password_file"]


def test_secrets_are_read_as_checked(sample: dict[str, Any]) -> None:
    secrets = read_secrets(load_settings(sample))
    assert secrets.smarthost_password == "relay-secret-generated-at-test-time"
    assert secrets.mailbox_hashes["you@yourdomain.com"].startswith("$6$")


def test_a_symlink_within_the_secrets_folder_is_fine(sample: dict[str, Any], secrets_dir: Path) -> None:
    link = secrets_dir / "relay-link"
    os.symlink("smarthost.password", link)
    settings = load_settings(set_path(sample, PASSWORD, str(link)))
    assert read_secrets(settings).smarthost_password == "relay-secret-generated-at-test-time"


def test_a_relative_path_must_stay_in_the_settings_folder(sample: dict[str, Any], secrets_dir: Path) -> None:
    base = secrets_dir / "base"
    base.mkdir()
    with pytest.raises(SettingsError) as caught:
        load_settings(set_path(sample, PASSWORD, "../smarthost.password"), base=base)
    problems = dict(caught.value.problems)
    assert "outside" in problems["smarthost.password_file"]
    assert load_settings(set_path(sample, PASSWORD, "smarthost.password"), base=secrets_dir)

"""Defence in depth: a rendered file holds exactly the parameters its template declares.

Valid settings render files that pass the check; a hostile value that
bypasses validation (``model_copy(update=...)`` does not validate) makes a
file the check refuses, naming it, before ``place`` uploads anything.
"""

from __future__ import annotations

import logging
import re
from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from pyinfra.facts.files import File, FileContents, Sha1File

from pyinfra_deploys import place as place_module
from pyinfra_deploys import stamp
from pyinfra_deploys.facts.placed import PlacedFiles
from pyinfra_deploys.layout import RSPAMD_OFFLINE_MAP
from pyinfra_deploys.operations import placed, secret
from pyinfra_deploys.place import FILES, place, render, template_for
from pyinfra_deploys.rendered import RenderedFileError, check_rendered, parser_for
from pyinfra_deploys.roles.rspamd import REMOTE_MAP_RULES
from pyinfra_deploys.settings import Settings, load_settings
from tests.fakehost import FakeHost

CHECKED = ["/etc/postfix/main.cf", "/etc/dovecot/dovecot.conf"] + sorted(
    f"/etc/rspamd/local.d/{path.name.removesuffix('.j2')}" for path in (FILES / "etc/rspamd/local.d").glob("*.j2")
)
CONTEXT = {"vmail_uid": 5000, "rules": REMOTE_MAP_RULES, "map": RSPAMD_OFFLINE_MAP, "module": "rbl"}


def rendered(dest: str, s: Settings) -> str:
    text = render(dest, s=s, **CONTEXT)
    check_rendered(dest, text, template_for(dest))
    return text


def test_the_checked_files_are_the_postfix_dovecot_and_rspamd_ones() -> None:
    assert len(CHECKED) == 10 and all(parser_for(dest) for dest in CHECKED)
    assert parser_for("/etc/postfix/master.cf") is None  # not checked (see rendered.py)


# A variant of the sample settings, and the lines it must put in the files it changes; every other
# checked file must render exactly as for the sample.
VARIANTS: list[tuple[dict[str, Any], dict[str, list[str]]]] = [
    (
        {"smarthost": None},
        {"/etc/postfix/main.cf": ["relayhost =", "smtp_tls_security_level = may"]},
    ),
    (
        {"rspamd": {"offline": True, "test_patterns": True, "nameservers": ["127.0.0.1", "[::1]:53"]}},
        {"/etc/rspamd/local.d/options.inc": ['gtube_patterns = "all";', '  nameserver = ["127.0.0.1", "[::1]:53"];']},
    ),
    (
        {"virtual_domains": ["yourdomain.com", "other.test"], "mynetworks": ["127.0.0.0/8", "::1/128", "10.0.0.0/8"]},
        {
            "/etc/postfix/main.cf": ["mynetworks = 127.0.0.0/8 [::1]/128 10.0.0.0/8"],
            "/etc/rspamd/local.d/dkim_signing.conf": ['    path = "/var/lib/rspamd/dkim/other.test.february.key";'],
        },
    ),
    (
        {"rspamd": {"milter": "/var/spool/postfix/rspamd/milter.sock"}},
        {
            # Postfix's smtpd and cleanup are chrooted in /var/spool/postfix: the path is relative to it.
            "/etc/postfix/main.cf": ["smtpd_milters = unix:/rspamd/milter.sock", "non_smtpd_milters = unix:/rspamd/milter.sock"],
            "/etc/rspamd/local.d/worker-proxy.inc": ['bind_socket = "/var/spool/postfix/rspamd/milter.sock mode=0666";'],
        },
    ),
]


def test_the_sample_renders_the_seed_milter_and_relay(sample: dict[str, Any]) -> None:
    settings = load_settings(sample)
    main = rendered("/etc/postfix/main.cf", settings).splitlines()
    assert "smtpd_milters = inet:127.0.0.1:11332" in main and "relayhost = [smtp.fastmail.com]:587" in main
    assert 'bind_socket = "127.0.0.1:11332";' in rendered("/etc/rspamd/local.d/worker-proxy.inc", settings).splitlines()


@pytest.mark.parametrize(("variant", "expected"), VARIANTS)
def test_valid_settings_change_only_the_files_they_drive(
    sample: dict[str, Any], variant: dict[str, Any], expected: dict[str, list[str]]
) -> None:
    base = {dest: rendered(dest, load_settings(sample)) for dest in CHECKED}
    changed = {dest: rendered(dest, load_settings(dict(sample, **variant))) for dest in CHECKED}
    assert {dest for dest in CHECKED if changed[dest] != base[dest]} == set(expected)
    for dest, lines in expected.items():
        for line in lines:
            assert line in changed[dest].splitlines(), (dest, line)


def hostile(settings: Settings, **update: Any) -> Settings:
    """The settings with values no validation has seen (dotted keys reach into sub-models)."""
    plain = {key: value for key, value in update.items() if "__" not in key}
    for key, value in update.items():
        if "__" in key:
            outer, inner = key.split("__")
            plain[outer] = getattr(settings, outer).model_copy(update={inner: value})
    return settings.model_copy(update=plain)


INJECT = "\nrelay_domains = static:ALL"

HOSTILE_RENDERS = [
    ("/etc/postfix/main.cf", {"banner": "$myhostname ESMTP" + INJECT}, "relay_domains"),
    ("/etc/postfix/main.cf", {"banner": "$myhostname ESMTP\nsmtpd_banner = other"}, "more than once"),
    ("/etc/postfix/main.cf", {"banner": "$myhostname ESMTP\n  permit_mynetworks"}, "smtpd_banner"),
    ("/etc/postfix/main.cf", {"banner": "$myhostname ESMTP\nnot a parameter"}, "not a `name = value` line"),
    ("/etc/postfix/main.cf", {"mynetworks": ["127.0.0.0/8" + INJECT]}, "relay_domains"),
    ("/etc/postfix/main.cf", {"mydestination": ["localhost" + INJECT]}, "relay_domains"),
    ("/etc/postfix/main.cf", {"hostname": "mail.yourdomain.com" + INJECT}, "relay_domains"),
    ("/etc/postfix/main.cf", {"rspamd__milter": "fe80::1%eth0" + INJECT + ":11332"}, "relay_domains"),
    (
        "/etc/postfix/main.cf",
        {"smarthost__host": "smtp.fastmail.com]:587\nsmtp_tls_security_level = none\nx = [y"},
        "not a parameter",
    ),
    (
        "/etc/dovecot/dovecot.conf",
        {"domain": "yourdomain.com\n}\npassdb {\n  driver = static\n  args = nopassword"},
        "more than once",
    ),
    ("/etc/dovecot/dovecot.conf", {"domain": "yourdomain.com\nauth_mechanisms = plain anonymous"}, "not a parameter"),
    ("/etc/rspamd/local.d/options.inc", {"rspamd__nameservers": ['1.1.1.1"]; timeout = 99s; x = ["y']}, "not a parameter"),
    (
        "/etc/rspamd/local.d/options.inc",
        {"rspamd__nameservers": ['1.1.1.1"]\nenable_test_patterns = true; x = ["y']},
        "not a parameter",
    ),
    ("/etc/rspamd/local.d/options.inc", {"rspamd__nameservers": ["1.1.1.1\n"]}, "cannot read"),
    ("/etc/rspamd/local.d/worker-proxy.inc", {"rspamd__milter": '127.0.0.1:11332"; milter = no; x = "'}, "not a parameter"),
    (
        "/etc/rspamd/local.d/dkim_signing.conf",
        {"rspamd__dkim_selector": 'x"; }\n}\nenabled = false;\ndomain {\n  a {\n selector = "x'},
        "more than once",
    ),
]


@pytest.mark.parametrize(("dest", "update", "words"), HOSTILE_RENDERS)
def test_a_hostile_value_that_bypassed_validation_is_caught_after_rendering(
    sample: dict[str, Any], dest: str, update: dict[str, Any], words: str
) -> None:
    bad = hostile(load_settings(sample), **update)
    with pytest.raises(RenderedFileError) as caught:
        rendered(dest, bad)
    assert str(caught.value).startswith(f"{dest} (from ")
    assert words in str(caught.value)


def test_place_refuses_before_anything_is_uploaded(sample: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    def upload(**kwargs: Any) -> None:
        raise AssertionError("uploaded")

    monkeypatch.setattr(place_module.placed, "put", upload)
    monkeypatch.setattr(place_module, "manage_path", lambda *paths: None)
    bad = hostile(load_settings(sample), banner="$myhostname ESMTP" + INJECT)
    with pytest.raises(RenderedFileError, match=re.escape("/etc/postfix/main.cf")):
        place("/etc/postfix/main.cf", s=bad)


UNTRUSTED: dict[str, Any] = {"files": {}, "folders": {}, "missing": set(), "trusted": False}


def secret_host(remote: dict[str, Any]) -> FakeHost:
    """A host the one observation of the placed files finds nothing trusted on: secret.put asks pyinfra's own
    facts, answered from ``remote`` (fact class name -> value)."""
    facts: dict[type, Any] = {PlacedFiles: UNTRUSTED, File: None, Sha1File: None, FileContents: None}
    facts.update({fact: remote[fact.__name__] for fact in (File, Sha1File, FileContents) if fact.__name__ in remote})
    return FakeHost(facts, name="mail")


@pytest.fixture(autouse=True)
def fresh_observation(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("_placed", "_observed", "_twice", "_watched"):
        monkeypatch.setattr(placed, name, {})


def use_host(monkeypatch: pytest.MonkeyPatch, fake: FakeHost) -> FakeHost:
    monkeypatch.setattr(secret, "host", fake)
    monkeypatch.setattr(placed, "host", fake)
    monkeypatch.setattr(stamp, "host", fake)
    return fake


@pytest.mark.parametrize(
    "remote",
    [
        {},  # a new file
        {"File": {"mode": 600, "user": "root", "group": "root"}, "Sha1File": "0" * 40, "FileContents": ["old-secret"]},
    ],
)
def test_a_secret_file_is_uploaded_without_showing_its_content_under_diff(
    remote: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = use_host(monkeypatch, secret_host(remote))
    monkeypatch.setattr(secret, "state", SimpleNamespace(config=SimpleNamespace(DIFF=True)))
    with caplog.at_level(logging.DEBUG):
        commands = list(secret.put._inner(content="[relay]:587 you:the-secret\n", dest="/etc/postfix/sasl_passwd"))
    shown = "\n".join(fake.logged) + caplog.text + "\n".join(map(repr, commands))
    assert "the-secret" not in shown and "old-secret" not in shown
    assert "secret content not shown" in shown
    # An empty owner-only file beside first, the content copied into it, then renamed over the secret.
    partial = "/etc/postfix/.sasl_passwd.february-new"
    assert str(commands.pop(0)) == f"install -m 600 -o root -g root /dev/null {partial}"
    upload = commands[0]
    assert isinstance(upload.src, StringIO) and upload.src.getvalue() == "[relay]:587 you:the-secret\n"
    assert upload.dest == partial
    # Given its owner and mode again (a root upload writes through SFTP) and renamed over, in one command.
    assert [str(c) for c in commands[1:]] == [
        f"chown root:root {partial} && chmod 600 {partial} && mv -f {partial} /etc/postfix/sasl_passwd"
    ]


def test_a_sudo_upload_of_a_secret_is_staged_in_the_private_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    use_host(monkeypatch, secret_host({}))
    monkeypatch.setattr(secret, "state", SimpleNamespace(config=SimpleNamespace(DIFF=False)))
    commands = list(secret.put._inner(content="x\n", dest="/etc/postfix/sasl_passwd", stage="/var/tmp/february-stage-owner"))
    assert commands[1].remote_temp_filename == "/var/tmp/february-stage-owner/pyinfra-sasl_passwd"


def test_an_unchanged_secret_file_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyinfra.api.util import get_file_sha1

    content = "[relay]:587 you:the-secret\n"
    use_host(
        monkeypatch,
        secret_host({"File": {"mode": 600, "user": "root", "group": "root"}, "Sha1File": get_file_sha1(StringIO(content))}),
    )
    assert list(secret.put._inner(content=content, dest="/etc/postfix/sasl_passwd")) == []

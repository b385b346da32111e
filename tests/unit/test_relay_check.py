"""The relay check (``february_status.check_relay``) against the fake smarthost, a real SMTP server on the loopback.

What Postfix would meet at the relay, the check meets first: a port where
nothing listens, a login the relay refuses, a certificate from another CA
or for another name. Each is an error in the relay's own words, and none
shows the password; a relay that takes the login is ok, and no mail is sent.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from february.world.certs import ca_signed, make_ca
from february.world.smarthost import FakeSmarthost, read_spool
from pyinfra_deploys.host import february_status
from pyinfra_deploys.host.february_status import ERROR, OK, Config, Relay
from tests.unit.test_status import closed_port

USER = "february@relay.example.net"
NAME = "localhost"  # resolves to the loopback, where the fake smarthost listens


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two CAs: the relay's, which signs its certificate for NAME, and another that signs nothing here."""
    folder = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "other-ca"):
        make_ca(folder / f"{ca}.pem", folder / f"{ca}.key", name=f"February {ca}")
    ca_signed(folder / "relay.pem", folder / "relay.key", folder / "ca.pem", folder / "ca.key", [NAME])
    return {"ca": folder / "ca.pem", "other": folder / "other-ca.pem", "cert": folder / "relay.pem", "key": folder / "relay.key"}


@pytest.fixture
def password() -> str:
    return f"relay-{secrets.token_hex(8)}"


@pytest.fixture
def relay(tmp_path: Path, pki: dict[str, Path], password: str) -> Iterator[FakeSmarthost]:
    server = FakeSmarthost(tmp_path / "spool", USER, password, pki["cert"], pki["key"], port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def config(tmp_path: Path, port: int, password: str, ca: Path, verify: bool = True, host: str = NAME) -> Config:
    """The host's configuration with its SASL map source written as Postfix's is: ``[host]:port user:password``."""
    credentials = tmp_path / "sasl_passwd"
    credentials.write_text(f"[{host}]:{port} {USER}:{password}\n")
    credentials.chmod(0o600)
    relay = Relay(host=host, port=port, verify=verify, ca_file=str(ca), credentials=str(credentials))
    return Config(
        hostname="mail.example.test",
        services=[],
        ports=[],
        milter="127.0.0.1:1",
        cert="",
        key="",
        mail_store=str(tmp_path),
        backup_status=None,
        backup_service=None,
        reboot_required="",
        apt_check="",
        apt_lists="",
        relay=relay,
    )


def check(c: Config) -> dict[str, str]:
    [line] = february_status.check_relay(c, lambda argv: (127, "", ""))
    assert line["section"] == "Relay"
    return line


def test_a_relay_that_takes_the_login_is_ok_and_gets_no_mail(
    tmp_path: Path, relay: FakeSmarthost, pki: dict[str, Path], password: str
) -> None:
    line = check(config(tmp_path, relay.port, password, pki["ca"]))
    assert (line["name"], line["level"]) == (f"{NAME}:{relay.port}", OK)
    assert line["message"].startswith("STARTTLS (TLSv1.3), certificate verified, login accepted")
    assert read_spool(relay.spool) == []


def test_a_port_where_nothing_listens_is_an_error(tmp_path: Path, pki: dict[str, Path], password: str) -> None:
    port = closed_port()
    line = check(config(tmp_path, port, password, pki["ca"]))
    assert line["level"] == ERROR and line["message"] == f"connect to {NAME}:{port}: Connection refused"


def test_a_refused_login_is_an_error_in_the_relays_words_without_the_password(
    tmp_path: Path, relay: FakeSmarthost, pki: dict[str, Path], password: str
) -> None:
    wrong = f"rotated-{secrets.token_hex(8)}"
    line = check(config(tmp_path, relay.port, wrong, pki["ca"]))
    assert line["level"] == ERROR and line["message"].startswith("the relay refused the login: 535 5.7.8")
    assert wrong not in line["message"] and password not in line["message"]


def test_a_certificate_from_another_ca_is_an_error_and_no_login_is_sent(
    tmp_path: Path, relay: FakeSmarthost, pki: dict[str, Path], password: str
) -> None:
    line = check(config(tmp_path, relay.port, password, pki["other"]))
    assert line["level"] == ERROR
    assert line["message"] == "TLS: the relay's certificate does not verify: unable to get local issuer certificate"
    # encrypt-only (the seed's `encrypt`) takes any certificate, as Postfix then does.
    assert check(config(tmp_path, relay.port, password, pki["other"], verify=False))["level"] == OK


def test_a_certificate_for_another_name_is_an_error(
    tmp_path: Path, relay: FakeSmarthost, pki: dict[str, Path], password: str
) -> None:
    # 127.0.0.1 is the same server, but the certificate names only NAME (Postfix: nexthop match).
    line = check(config(tmp_path, relay.port, password, pki["ca"], host="127.0.0.1"))
    assert line["level"] == ERROR and "IP address mismatch" in line["message"]


def test_no_login_for_the_relay_in_the_map_is_an_error(tmp_path: Path, relay: FakeSmarthost, pki: dict[str, Path]) -> None:
    c = config(tmp_path, relay.port, "x", pki["ca"])
    assert c.relay is not None
    Path(c.relay.credentials).write_text(f"[elsewhere.example.net]:587 {USER}:x\n")
    line = check(c)
    assert line["level"] == ERROR and f"no login for [{NAME}]:{relay.port}" in line["message"]


def test_no_smarthost_is_said_and_ok(tmp_path: Path, pki: dict[str, Path]) -> None:
    c = config(tmp_path, 1, "x", pki["ca"])
    line = check(Config(**{**c.__dict__, "relay": None}))
    assert line["level"] == OK and "straight to the domains' MX hosts" in line["message"]

"""Every wrong setting is an error that names its key, before anything connects."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from february.paths import REPO
from pyinfra_deploys.settings import SettingsError, load_settings
from pyinfra_deploys.settings.inventory import inventory_host


def problems_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(data)
    return dict(caught.value.problems)


def with_change(sample: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(sample)
    data.update(changes)
    return data


def test_the_sample_settings_are_valid(sample: dict[str, Any]) -> None:
    settings = load_settings(sample)
    assert settings.relayhost == "[smtp.fastmail.com]:587"
    assert settings.submission_networks == ["192.168.1.0/24", "10.10.0.0/24"]


def test_a_domain_in_mydestination_and_virtual_domains_is_refused(sample: dict[str, Any]) -> None:
    data = with_change(sample, mydestination=["$myhostname", "localhost", "$mydomain"])
    problems = problems_of(data)
    assert "also a virtual domain" in problems["mydestination"]
    assert "'yourdomain.com'" in problems["mydestination"]


def test_a_malformed_cidr_names_its_key(sample: dict[str, Any]) -> None:
    problems = problems_of(with_change(sample, submission_networks=["192.168.1.0/24", "10.10.0.300/24"]))
    assert "CIDR" in problems["submission_networks.1"]


def test_a_cidr_with_host_bits_is_refused(sample: dict[str, Any]) -> None:
    assert "submission_networks.0" in problems_of(with_change(sample, submission_networks=["192.168.1.7/24"]))


def test_a_malformed_domain_names_its_key(sample: dict[str, Any]) -> None:
    problems = problems_of(with_change(sample, virtual_domains=["yourdomain.com", "bad_domain..com"]))
    assert "not a valid domain" in problems["virtual_domains.1"]


def test_a_mailbox_in_a_domain_not_served_is_refused(sample: dict[str, Any]) -> None:
    data = copy.deepcopy(sample)
    data["mailboxes"]["eve@elsewhere.test"] = data["mailboxes"]["you@yourdomain.com"]
    problems = problems_of(data)
    assert "not served" in problems["mailboxes.eve@elsewhere.test"]


def test_an_alias_in_a_domain_not_served_is_refused(sample: dict[str, Any]) -> None:
    problems = problems_of(with_change(sample, aliases={"x@elsewhere.test": ["you@yourdomain.com"]}))
    assert "not served" in problems["aliases.x@elsewhere.test"]


def test_a_smarthost_without_credentials_is_refused(sample: dict[str, Any]) -> None:
    problems = problems_of(with_change(sample, smarthost={"host": "smtp.fastmail.com", "port": 587}))
    assert problems["smarthost.username"] == "required setting is missing"
    assert problems["smarthost.password_file"] == "required setting is missing"


def test_a_missing_secret_file_is_refused(sample: dict[str, Any], tmp_path: Path) -> None:
    data = copy.deepcopy(sample)
    data["smarthost"]["password_file"] = str(tmp_path / "nope")
    assert "does not exist" in problems_of(data)["smarthost.password_file"]


@pytest.mark.parametrize("name", ["nope\n# injected", ""])
def test_a_secret_path_that_is_no_file_is_refused_on_one_line(sample: dict[str, Any], tmp_path: Path, name: str) -> None:
    data = copy.deepcopy(sample)
    data["smarthost"]["password_file"] = str(tmp_path / name)
    problem = problems_of(data)["smarthost.password_file"]
    assert "\n" not in problem
    assert ("is not a file" if name == "" else "does not exist") in problem


def test_a_world_readable_secret_file_is_refused(sample: dict[str, Any]) -> None:
    Path(sample["smarthost"]["password_file"]).chmod(0o644)
    assert "chmod 600" in problems_of(sample)["smarthost.password_file"]


def test_an_unknown_top_level_key_is_refused(sample: dict[str, Any]) -> None:
    problems = problems_of(with_change(sample, mailbox={}))
    assert "unknown setting" in problems["mailbox"]


def test_a_misspelled_nested_key_is_refused(sample: dict[str, Any]) -> None:
    data = copy.deepcopy(sample)
    data["smarthost"]["pasword_file"] = data["smarthost"].pop("password_file")
    problems = problems_of(data)
    assert "unknown setting" in problems["smarthost.pasword_file"]


def test_a_wrong_type_names_its_key_and_value(sample: dict[str, Any]) -> None:
    problems = problems_of(with_change(sample, message_size_limit="fifty megs"))
    assert "integer" in problems["message_size_limit"] and "'fifty megs'" in problems["message_size_limit"]


def test_a_plain_text_password_is_refused(sample: dict[str, Any]) -> None:
    data = with_change(sample, mailboxes={"you@yourdomain.com": {"hashed_password": "hunter2"}})
    assert "not a password hash" in problems_of(data)["mailboxes.you@yourdomain.com.hashed_password"]


def test_the_error_message_lists_every_problem_with_its_full_key(sample: dict[str, Any]) -> None:
    data = with_change(sample, submission_networks=["nope"], banner="")
    with pytest.raises(SettingsError) as caught:
        load_settings(data)
    text = str(caught.value)
    assert "february.submission_networks.0:" in text and "february.banner:" in text


def test_layers_merge_key_by_key(sample: dict[str, Any]) -> None:
    settings = load_settings(sample, {"smarthost": {"port": 2525}, "rspamd": {"offline": True}})
    assert settings.relayhost == "[smtp.fastmail.com]:2525"
    assert settings.smarthost is not None and settings.smarthost.username == "you@fastmail.com"
    assert settings.rspamd.offline and settings.rspamd.milter == "127.0.0.1:11332"


def test_the_repository_inventories_declare_valid_settings() -> None:
    for name in ("hosts.py", "vm.py"):
        assert inventory_host(REPO / "inventory" / name, check_files=False).settings.served_domains == ["example.test"]


def test_a_site_without_its_name_or_domain_is_refused_naming_both(sample: dict[str, Any]) -> None:
    """No placeholder: a site that forgets them would otherwise converge as mail.example.test."""
    site = {key: value for key, value in sample.items() if key not in ("hostname", "domain")}
    with pytest.raises(SettingsError) as raised:
        load_settings(site)
    assert "february.hostname: required setting is missing" in str(raised.value)
    assert "february.domain: required setting is missing" in str(raised.value)


def test_each_setting_is_interpreted_once_in_the_model(sample: dict[str, Any], tmp_path: Path) -> None:
    """The roles and templates read these answers; none of them parses the setting again."""
    s = load_settings(sample)
    assert (s.rspamd.milter_socket, s.rspamd.milter_port) == (None, 11332)
    assert s.milter == "inet:127.0.0.1:11332"
    socket = load_settings({**sample, "rspamd": {"milter": "/var/spool/postfix/rspamd/milter.sock"}})
    assert (socket.rspamd.milter_socket, socket.rspamd.milter_port) == ("/var/spool/postfix/rspamd/milter.sock", None)
    assert socket.milter == "unix:/rspamd/milter.sock"
    assert not s.relay_ca_uploaded and s.smtp_ca_file == "/etc/ssl/certs/ca-certificates.crt"
    (tmp_path / "relay-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    own_ca = load_settings({**sample, "smarthost": {**sample["smarthost"], "ca_file": str(tmp_path / "relay-ca.pem")}})
    assert own_ca.relay_ca_uploaded and own_ca.smtp_ca_file == "/etc/postfix/smarthost-ca.pem"
    assert (s.tls.from_acme, s.tls.from_files) == (False, False)

"""The settings reference is generated from the model, and the committed one is current."""

from __future__ import annotations

import subprocess
import sys

from pyinfra_deploys.settings.model import Settings
from pyinfra_deploys.settings.reference import DOC, reference, sections
from pyinfra_deploys.settings.types import Allowed, Port


def test_the_committed_reference_is_what_the_model_says() -> None:
    assert DOC.read_text() == reference(), f"{DOC} is stale: python -m pyinfra_deploys.settings.reference > docs/settings.md"


def test_every_setting_is_described_and_every_key_is_listed_once() -> None:
    listed = [row for _, _, rows in sections(Settings) for row in rows]
    keys = [row.key for row in listed]
    assert len(keys) == len(set(keys))
    assert "`smarthost.password_file`" in keys and "`mailboxes.<key>.hashed_password_file`" in keys
    assert "`tls.acme.dns_plugin`" in keys and "`generations.confirm_seconds`" in keys
    assert [row.key for row in listed if not row.description and "(below)" not in row.kind] == []


def test_a_row_says_what_is_allowed_and_the_default() -> None:
    rows = {row.key: row for _, _, found in sections(Settings) for row in found}
    assert rows["`smarthost.port`"].kind == next(m.text for m in Port.__metadata__ if isinstance(m, Allowed))
    assert rows["`smarthost.port`"].default == "`587`" and rows["`smarthost.host`"].default == "**required**"
    assert rows["`tls.source`"].kind == "one of `'self-signed'`, `'files'`, `'acme'`"
    assert rows["`generations.confirm_seconds`"].kind == "an integer from 30 to 3600"
    assert "readable by its owner only" in rows["`backup.password_file`"].kind


def test_the_module_prints_the_reference() -> None:
    done = subprocess.run([sys.executable, "-m", "pyinfra_deploys.settings.reference"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == reference()

"""The VM's generated passwords suit command-line clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from february.vm import secrets as vm_secrets


def test_a_password_never_begins_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: Iterator[str] = iter(["-WRtnlSt1qNBICOjf9CQTk2Q", "--x", "WRtnlSt1qNBICOjf9CQTk2Q"])
    monkeypatch.setattr(vm_secrets.secrets, "token_urlsafe", lambda nbytes: next(drawn))
    assert vm_secrets.new_password(18) == "WRtnlSt1qNBICOjf9CQTk2Q"


def test_a_password_has_the_asked_strength() -> None:
    assert len(vm_secrets.new_password(18)) == 24

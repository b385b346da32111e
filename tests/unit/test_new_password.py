"""Generated passwords (the VM's, a new site's) suit command-line clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from february import site


def test_a_password_never_begins_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: Iterator[str] = iter(["-WRtnlSt1qNBICOjf9CQTk2Q", "--x", "WRtnlSt1qNBICOjf9CQTk2Q"])
    monkeypatch.setattr(site.secrets, "token_urlsafe", lambda nbytes: next(drawn))
    assert site.new_password(18) == "WRtnlSt1qNBICOjf9CQTk2Q"


def test_a_password_has_the_asked_strength() -> None:
    assert len(site.new_password(18)) == 24

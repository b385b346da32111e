"""The converge stamp sees every change that must trigger a full converge."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pyinfra_deploys.stamp import OBSERVE, wanted_digest


def observe(listing: str) -> str:
    return subprocess.run(["sh", "-c", OBSERVE], input=listing, capture_output=True, text=True, check=True).stdout


def test_the_observation_changes_with_content_mode_and_existence(tmp_path: Path) -> None:
    managed = tmp_path / "main.cf"
    managed.write_text("myhostname = a\n")
    listing = f"path {managed}\npackage bash\nuser root\n"
    first = observe(listing)
    assert str(managed) in first and "bash " in first and "root:x:0:0" in first
    assert observe(listing) == first

    managed.write_text("myhostname = b\n")
    second = observe(listing)
    assert second != first

    managed.chmod(0o600)
    third = observe(listing)
    assert third != second

    managed.unlink()
    assert f"missing {managed}" in observe(listing)


def test_a_present_path_is_observed_by_existence_and_owner_not_content(tmp_path: Path) -> None:
    counters = tmp_path / "stats.ucl"
    counters.write_text("{}\n")
    listing = f"present {counters}\n"
    first = observe(listing)
    assert str(counters) in first
    counters.write_text('{"scanned": 3}\n')
    assert observe(listing) == first
    counters.unlink()
    assert f"missing {counters}" in observe(listing)


def test_a_missing_package_or_user_shows() -> None:
    out = observe("package no-such-package-february\nuser no-such-user-february\n")
    assert "no-such-package-february" in out and "no user no-such-user-february" in out


def test_the_wanted_digest_follows_settings_and_secrets() -> None:
    base = wanted_digest('{"hostname": "a"}', ["secret", None])
    assert wanted_digest('{"hostname": "a"}', ["secret", None]) == base
    assert wanted_digest('{"hostname": "b"}', ["secret", None]) != base
    assert wanted_digest('{"hostname": "a"}', ["other", None]) != base
    assert "secret" not in base


def test_the_host_is_observed_only_when_the_stamp_wanted_the_same(tmp_path: Path) -> None:
    """A converge with other settings or code runs anyway: the stamp's fact skips the slow observation for it."""
    from pyinfra_deploys.layout import STAMP
    from pyinfra_deploys.stamp import ConvergeStamp

    stamp = tmp_path / "converged"
    watched = tmp_path / "main.cf"
    watched.write_text("a = 1\n")
    stamp.write_text(f"wanted-digest\nobserved-then\npath {watched}\n")
    fact = ConvergeStamp()

    def read(wanted: str) -> dict[str, str] | None:
        command = fact.command(wanted=wanted).replace(STAMP, str(stamp))
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
        return fact.process(done.stdout.splitlines())

    same = read("wanted-digest")
    assert same is not None and same["wanted"] == "wanted-digest" and len(same["observed_now"]) == 64
    other = read("other-digest")
    assert other == {"wanted": "wanted-digest", "observed_then": "observed-then", "observed_now": "not observed"}
    assert read("$(touch /nonexistent/x)") is not None  # the wanted digest is data, never run


def test_a_stopped_or_disabled_service_shows(tmp_path: Path) -> None:
    """The services in one ``systemctl show``: its output changes with the unit's state (a fake systemctl here)."""
    fake = tmp_path / "systemctl"
    fake.write_text(
        '#!/bin/sh\nfor u in "$@"; do case "$u" in --*|-) ;; *) printf "Id=%s\\nActiveState=$STATE\\n\\n" "$u";; esac; done\n'
    )
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}

    def seen(state: str) -> str:
        done = subprocess.run(
            ["sh", "-c", OBSERVE],
            input="service postfix\nservice dovecot\n",
            capture_output=True,
            text=True,
            env={**env, "STATE": state},
            check=True,
        )
        return done.stdout

    assert "Id=postfix" in seen("active") and "Id=dovecot" in seen("active")
    assert seen("active") != seen("failed")

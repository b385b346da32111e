"""The host's generations script (pyinfra_deploys/host/february_generation.py), run here on a folder that stands in for the host."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pyinfra_deploys import layout
from pyinfra_deploys.host import february_generation
from pyinfra_deploys.roles import postfix
from pyinfra_deploys.roles.generations import RELOAD, VERIFY_SECTIONS, config_text, generations_config
from pyinfra_deploys.settings.model import Settings

SCRIPT = Path(february_generation.__file__)


class Host:
    """A stand-in host under ``tmp``: managed files, a stamp listing them, a log of what ran."""

    def __init__(self, tmp: Path, keep: int = 10, validate: str = "true") -> None:
        self.tmp = tmp
        self.log = tmp / "ran.log"
        self.etc = tmp / "etc"
        (self.etc / "postfix").mkdir(parents=True)
        (self.etc / "dovecot").mkdir(parents=True)
        (tmp / "state").mkdir()
        self.config = tmp / "generations.json"
        self.config.write_text(
            json.dumps(
                {
                    "root": str(tmp / "generations"),
                    "stamp": str(tmp / "converged"),
                    "keep": keep,
                    "state_paths": [str(tmp / "state")],
                    "validate": [[f"{self.etc}/postfix/", validate]],
                    "reload": [
                        [f"{self.etc}/postfix/", f"echo postfix >> {self.log}"],
                        [f"{self.etc}/dovecot/", f"echo dovecot >> {self.log}"],
                    ],
                    "status_script": str(tmp / "status"),
                    "status_config": str(tmp / "status.json"),
                    "verify_sections": ["Services"],
                }
            )
        )
        self.main_cf = self.etc / "postfix" / "main.cf"
        self.users = self.etc / "dovecot" / "users"
        self.key = tmp / "state" / "mail.key"

    def write(self, path: Path, text: str, mode: int = 0o644) -> None:
        path.write_text(text)
        path.chmod(mode)

    def stamp(self, *paths: Path) -> None:
        listed = [*(f"path {p}" for p in paths), f"path {self.etc / 'postfix'}", "service postfix"]
        (self.tmp / "converged").write_text("wanted\nobserved\n" + "\n".join(listed) + "\n")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(SCRIPT), str(self.config), *args], capture_output=True, text=True)

    def record(self) -> str:
        done = self.run("record", "abc123", "0", "digest", "converge")
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def listing(self) -> list[dict]:
        return json.loads(self.run("list").stdout)

    def ran(self) -> list[str]:
        return self.log.read_text().split() if self.log.exists() else []


@pytest.fixture
def host(tmp_path: Path) -> Host:
    found = Host(tmp_path)
    found.write(found.main_cf, "myhostname = one\n")
    found.write(found.users, "alice:{SHA512-CRYPT}x\n", 0o640)
    found.write(found.key, "KEY\n", 0o600)
    found.stamp(found.main_cf, found.users, found.key)
    return found


def test_a_converge_records_the_managed_files_once_and_leaves_the_state_out(host: Host) -> None:
    assert host.record() == "recorded 1"
    assert host.record() == "unchanged 1"
    manifest = json.loads((host.tmp / "generations" / "1" / "manifest.json").read_text())
    assert sorted(manifest) == [str(host.users), str(host.main_cf)]  # no key (state), no folder
    (only,) = host.listing()
    assert only["number"] == 1 and only["current"] and only["revision"] == "abc123" and only["reason"] == "converge"
    assert stat.S_IMODE(os.stat(host.tmp / "generations").st_mode) == 0o700


def test_a_changed_file_or_mode_is_a_new_generation_and_old_ones_are_pruned(tmp_path: Path) -> None:
    host = Host(tmp_path, keep=2)
    host.stamp(host.main_cf)
    for n, text in enumerate(["one", "two", "three"], start=1):
        host.write(host.main_cf, f"myhostname = {text}\n")
        assert host.record() == f"recorded {n}"
    host.main_cf.chmod(0o600)
    assert host.record() == "recorded 4"
    assert [g["number"] for g in host.listing()] == [3, 4]


def test_a_switch_puts_back_content_and_mode_reloads_only_what_changed_and_is_a_new_generation(host: Host) -> None:
    host.record()
    host.write(host.main_cf, "myhostname = two\n", 0o600)
    host.record()
    done = host.run("switch", "1", "rollback to 1")
    assert done.returncode == 0, done.stderr
    assert host.main_cf.read_text() == "myhostname = one\n"
    assert stat.S_IMODE(host.main_cf.stat().st_mode) == 0o644
    assert host.ran() == ["postfix"]  # Dovecot's files did not change
    assert [(g["number"], g["reason"], g["current"]) for g in host.listing()] == [
        (1, "converge", False),
        (2, "converge", False),
        (3, "rollback to 1", True),
    ]


def test_a_switch_puts_back_the_stamp_of_that_generation_and_a_new_stamp_alone_is_no_new_generation(host: Host) -> None:
    stamp = host.tmp / "converged"
    host.record()
    first = stamp.read_text()
    host.write(host.main_cf, "myhostname = two\n")
    stamp.write_text(first.replace("wanted", "wanted-two"))
    host.record()
    stamp.write_text(first.replace("wanted", "wanted-three"))  # new code, the same files
    assert host.record() == "unchanged 2"
    assert host.run("switch", "1", "rollback to 1").returncode == 0
    assert stamp.read_text() == first
    assert host.run("switch", "2", "forward to 2").returncode == 0
    assert stamp.read_text() == first.replace("wanted", "wanted-three")


def test_a_file_the_old_generation_did_not_have_is_removed(host: Host) -> None:
    host.stamp(host.main_cf)
    host.record()
    extra = host.etc / "postfix" / "virtual_aliases"
    host.write(extra, "a b\n")
    host.stamp(host.main_cf, extra)
    host.record()
    assert host.run("switch", "1", "rollback to 1").returncode == 0
    assert not extra.exists()


def test_a_set_that_fails_validation_is_put_back_as_it_was_and_nothing_reloads(tmp_path: Path) -> None:
    host = Host(tmp_path, validate=f"! grep -q broken {tmp_path}/etc/postfix/main.cf")
    host.stamp(host.main_cf)
    host.write(host.main_cf, "myhostname = broken\n")
    host.record()
    host.write(host.main_cf, "myhostname = fine\n", 0o640)
    host.record()
    done = host.run("switch", "1", "rollback to 1")
    assert done.returncode == 2
    assert "validation failed" in done.stderr and "nothing was reloaded" in done.stderr
    assert host.main_cf.read_text() == "myhostname = fine\n"
    assert stat.S_IMODE(host.main_cf.stat().st_mode) == 0o640
    assert host.ran() == []
    assert [g["number"] for g in host.listing() if g["current"]] == [2]


def test_only_the_changed_services_checks_run(tmp_path: Path) -> None:
    """Postfix's check fails here, but a switch that changes only Dovecot's files does not run it."""
    host = Host(tmp_path, validate=f"echo checked >> {tmp_path}/ran.log; false")
    host.stamp(host.main_cf, host.users)
    host.write(host.users, "alice:{SHA512-CRYPT}one\n", 0o640)
    host.record()
    host.write(host.users, "alice:{SHA512-CRYPT}two\n", 0o640)
    host.record()
    done = host.run("switch", "1", "rollback to 1")
    assert done.returncode == 0, done.stderr
    assert host.ran() == ["dovecot"]  # reloaded, and no check of Postfix's ran
    host.write(host.main_cf, "myhostname = changed\n")
    host.record()
    assert host.run("switch", "3", "back").returncode == 2  # Postfix's files changed: its check ran, and failed


def test_an_unknown_generation_is_refused(host: Host) -> None:
    host.record()
    done = host.run("switch", "7", "rollback to 7")
    assert done.returncode == 1 and "no generation 7 (have: 1)" in done.stderr


def test_verify_names_the_failed_check(host: Host) -> None:
    report = [
        {"section": "Services", "name": "dovecot", "level": "error", "message": "failed"},
        {"section": "Disk", "name": "mail store", "level": "error", "message": "full"},
    ]
    status = host.tmp / "status"
    status.write_text(f"#!/bin/sh\necho \"$@\" > {host.tmp / 'asked'}\necho '{json.dumps(report)}'\nexit 2\n")
    status.chmod(0o755)
    done = host.run("verify", "0")
    assert done.returncode == 2
    # Only the switch's sections are run (a certificate or an update check costs seconds and decides nothing here).
    assert (host.tmp / "asked").read_text().split() == [str(host.tmp / "status.json"), "--only", "Services"]
    assert "failed check: Services: dovecot: failed" in done.stderr and "Disk" not in done.stderr
    status.write_text(f"#!/bin/sh\necho '{json.dumps(report[1:])}'\nexit 2\n")
    assert host.run("verify", "0").returncode == 0  # only the switch's sections count


def test_the_host_configuration_names_the_roles_checks_and_leaves_the_state_out() -> None:
    config = generations_config(Settings(hostname="mail.example.test", domain="example.test"))
    assert config["root"] == layout.GENERATIONS_DIR and config["keep"] == 10
    assert set(config["state_paths"]) == set(layout.STATE_PATHS)
    checks = dict(map(tuple, config["validate"]))
    assert (
        checks[f"{layout.POSTFIX_DIR}/"] == postfix.CHECKS[-1] and checks[f"{layout.RSPAMD_LOCAL_D}/"] == "rspamadm configtest -q"
    )
    assert [command for prefix, command in config["validate"] if prefix.startswith(f"{layout.POSTFIX_DIR}/")] == postfix.CHECKS
    assert not [prefix for prefix, _ in config["validate"] if prefix in layout.UFW_FILES]  # rules alone: no configtest
    assert config["verify_sections"] == list(VERIFY_SECTIONS)
    assert "Relay" in VERIFY_SECTIONS and config["rollback_unit"] == layout.ROLLBACK_UNIT
    assert next(prefix for prefix, _ in RELOAD) == f"{layout.SYSTEMD_UNITS}/"  # units reread before any restart


def test_an_armed_rollback_that_is_not_confirmed_puts_the_generation_before_back(host: Host) -> None:
    host.record()
    host.write(host.main_cf, "myhostname = locked out\n")
    assert host.run("arm", "600", "1", "automatic rollback: not confirmed").returncode == 0
    host.record()
    armed = json.loads((host.tmp / "generations" / "armed").read_text())
    assert armed["target"] == 1 and armed["deadline"] > 0
    # What the timer runs when its time is up: generation 1 back, recorded with the reason.
    done = host.run("fire")
    assert done.returncode == 0, done.stderr
    assert host.main_cf.read_text() == "myhostname = one\n" and host.ran() == ["postfix"]
    assert host.listing()[-1]["reason"] == "automatic rollback: not confirmed" and host.listing()[-1]["current"]
    # Then a late confirmation says the host went back by itself, and a second firing changes nothing.
    late = host.run("confirm")
    assert late.returncode == 3 and "rollback has run" in late.stderr
    assert host.run("fire").stdout.strip() == "nothing armed (confirmed meanwhile)"


def test_after_a_reboot_an_armed_rollback_goes_on_for_what_is_left_or_fires_when_its_window_closed(host: Host) -> None:
    """A transient timer does not outlive a reboot: ``resume`` (run at boot) arms it again, or fires when it is too late."""
    armed_file = host.tmp / "generations" / "armed"
    assert host.run("resume").stdout.strip() == "nothing armed"
    host.record()
    host.write(host.main_cf, "myhostname = locked out\n")
    assert host.run("arm", "600", "1", "automatic rollback: not confirmed").returncode == 0
    host.record()
    # Rebooted within the window: armed again for what is left, the switch stays for now.
    assert host.run("resume").returncode == 0
    again = json.loads(armed_file.read_text())
    assert again["target"] == 1 and 0 < again["seconds"] <= 600 and host.main_cf.read_text() == "myhostname = locked out\n"
    # A clock set back at boot does not stretch the window past what it was armed with.
    armed_file.write_text(json.dumps({**again, "deadline": again["deadline"] + 10**6}))
    assert host.run("resume").returncode == 0
    assert json.loads(armed_file.read_text())["seconds"] <= 600
    # Down past the window: back now, recorded with its reason.
    armed_file.write_text(json.dumps({**again, "deadline": 1}))
    done = host.run("resume")
    assert done.returncode == 0 and "closed while the host was down" in done.stdout, done.stdout + done.stderr
    assert host.main_cf.read_text() == "myhostname = one\n" and not armed_file.exists()
    assert host.listing()[-1]["reason"] == "automatic rollback: not confirmed" and host.listing()[-1]["current"]


def test_the_armed_file_the_host_and_february_look_for_is_the_same(tmp_path: Path) -> None:
    config = tmp_path / "generations.json"
    config.write_text(config_text(Settings(hostname="mail.example.test", domain="example.test")))
    assert str(february_generation.armed_path(february_generation.Config.load(str(config)))) == layout.ROLLBACK_ARMED


def test_a_confirmed_switch_stays(host: Host) -> None:
    host.record()
    host.write(host.main_cf, "myhostname = two\n")
    assert host.run("arm", "600", "1", "not confirmed").returncode == 0
    host.record()
    assert host.run("confirm").stdout.strip() == "confirmed"
    assert not (host.tmp / "generations" / "armed").exists()
    assert host.run("fire").returncode == 0
    assert host.main_cf.read_text() == "myhostname = two\n" and host.ran() == []
    # Arming needs a generation to go back to.
    missing = host.run("arm", "600", "9", "x")
    assert missing.returncode == 1 and "no generation 9" in missing.stderr


def test_arming_the_current_generation_names_it_in_the_same_call(host: Host) -> None:
    """A deploy arms its way back and learns where it goes in one command (each costs seconds under emulation)."""
    armed_file = host.tmp / "generations" / "armed"
    first = host.run("arm", "600", "current", "the deploy did not come back")
    assert (first.returncode, first.stdout.strip()) == (0, "current none") and not armed_file.exists()
    host.record()
    host.write(host.main_cf, "myhostname = two\n")
    host.record()
    done = host.run("arm", "600", "current", "the deploy did not come back")
    assert done.returncode == 0 and done.stdout.splitlines()[0] == "current 2", done.stderr
    assert json.loads(armed_file.read_text())["target"] == 2


def test_verify_arms_only_once_the_checks_passed(host: Host) -> None:
    armed_file = host.tmp / "generations" / "armed"
    host.record()
    status = host.tmp / "status"
    failing = [{"section": "Services", "name": "dovecot", "level": "error", "message": "failed"}]
    status.write_text(f"#!/bin/sh\necho '{json.dumps(failing)}'\nexit 2\n")
    status.chmod(0o755)
    failed = host.run("verify", "0", "arm", "120", "1", "not confirmed")
    assert failed.returncode == 2 and not armed_file.exists()
    status.write_text(f"#!/bin/sh\necho '{json.dumps([{**failing[0], 'level': 'ok'}])}'\nexit 0\n")
    done = host.run("verify", "0", "arm", "120", "1", "not confirmed")
    assert done.returncode == 0 and done.stdout.startswith("verified: Services"), done.stderr
    assert json.loads(armed_file.read_text()) | {"deadline": 0} == {
        "target": 1,
        "reason": "not confirmed",
        "deadline": 0,
        "seconds": 120,
    }
    # Verified, but there is nothing to go back to: its own exit status, so february tells it from a failed check.
    unarmed = host.run("verify", "0", "arm", "120", "9", "not confirmed")
    assert unarmed.returncode == 5 and "no generation 9" in unarmed.stderr


def test_usage_errors_exit_1(host: Host) -> None:
    assert host.run("switch", "one", "x").returncode == 1
    assert host.run("frobnicate").returncode == 1
    assert host.run("arm", "soon", "1", "x").returncode == 1
    assert host.run("confirm", "now").returncode == 1
    assert host.run("arm", "600", "latest", "x").returncode == 1
    assert host.run("verify", "0", "arm", "soon", "1", "x").returncode == 1


def test_a_rollback_goes_by_default_to_the_generation_before_the_current_one() -> None:
    from february.generations import previous

    listed = [{"number": n, "current": n == 5} for n in (3, 4, 5, 6)]
    assert previous(listed) == 4
    assert previous([{"number": 1, "current": True}]) is None
    assert previous([]) is None


def test_a_command_that_outlasts_its_time_is_a_failure_not_a_crash() -> None:
    """A validation that hangs must put the files back like one that fails, not end the switch halfway."""
    assert february_generation.run("sleep 5", timeout=0.3) == (124, "", "timed out after 0 s")
    assert february_generation.run("echo ok") == (0, "ok\n", "")


def test_a_change_of_ufw_s_rules_alone_reloads_them_as_ufw_allow_does_and_reads_as_one_line() -> None:
    """``ufw reload`` rebuilds every chain (40 s under emulation); the user rules alone are UFW's own quick reload."""
    reloads = dict(RELOAD)
    quick = reloads[layout.UFW_USER_RULES]
    assert quick == reloads[layout.UFW_USER6_RULES] and "_reload_user_rules()" in quick and layout.UFW_LOCK in quick
    assert reloads[layout.UFW_CONF] == reloads[layout.UFW_DEFAULTS] == "ufw reload"
    assert february_generation.command_name(quick) == "python3 -c '# ufw: reload the user rules ...'"
    assert february_generation.command_name("postfix reload") == "postfix reload"


def test_a_host_whose_script_predates_arm_current_is_armed_the_old_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first deploy after an upgrade of february meets the host's old script: its way back is armed all the same."""
    from february import generations as client

    asked: list[tuple[str, ...]] = []

    def old_script(found: object, *args: str, fresh: bool = False) -> client.Outcome:
        asked.append(args)
        if args == ("current",):
            return client.Outcome(0, "7\n", "")
        if args[0] == "arm" and args[2] == "current":
            return client.Outcome(1, "", f"bad usage: {' '.join(args)}\n")
        return client.Outcome(0, f"armed: back to generation {args[2]} in {args[1]} s unless confirmed\n", "")

    monkeypatch.setattr(client, "_script", old_script)
    number, armed = client.arm_current(None, 1830, "the deploy did not come back")  # type: ignore[arg-type]
    assert number == 7 and armed.ok
    assert asked == [
        ("arm", "1830", "current", "the deploy did not come back"),
        ("current",),
        ("arm", "1830", "7", "the deploy did not come back"),
    ]

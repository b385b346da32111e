"""operations.placed: a file already as wanted costs no command; one fact observes every placed file."""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import subprocess
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pyinfra.api import FileUploadCommand, OperationError
from pyinfra.context import ctx_host, ctx_state
from pyinfra.facts.files import FileContents

from pyinfra_deploys import stamp
from pyinfra_deploys.facts.placed import FileState, FolderState, PlacedFiles, PlacedFilesValue
from pyinfra_deploys.operations import placed
from tests.fakehost import FakeHost


def run_fact(paths: tuple[str, ...], packages: tuple[str, ...]) -> PlacedFilesValue:
    """The fact's command in a local shell, its output through its own parser."""
    command = PlacedFiles().command(paths=paths, packages=packages)
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True).stdout
    return PlacedFiles().process(out.splitlines())


def test_the_fact_reads_mode_owner_and_digest_of_each_regular_file_in_one_command(tmp_path: Path) -> None:
    config = tmp_path / "main.cf"
    config.write_text("myhostname = mail.example.test\n")
    config.chmod(0o640)
    (tmp_path / "link.cf").symlink_to(config)
    (tmp_path / "dangling.cf").symlink_to(tmp_path / "nowhere")
    missing, unfoldered = str(tmp_path / "missing.cf"), str(tmp_path / "no-folder" / "main.cf")
    paths = (str(config), str(tmp_path / "link.cf"), missing, str(tmp_path), str(tmp_path / "dangling.cf"), unfoldered)
    found = run_fact(paths, ("dpkg",))
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    digest = hashlib.sha256(config.read_bytes()).hexdigest()
    # a symlink is neither a file nor a folder this deploy can skip; only a path whose folder exists is "missing"
    folder_mode = tmp_path.stat().st_mode & 0o7777
    assert found == {
        "files": {str(config): FileState(0o640, user, group, digest)},
        "folders": {str(tmp_path): FolderState(folder_mode, user, group)},
        "missing": {missing},
        "trusted": True,
    }


def test_a_missing_package_makes_the_observation_untrusted(tmp_path: Path) -> None:
    # installing it could still write one of the files
    assert run_fact((str(tmp_path),), ("dpkg", "february-no-such-package"))["trusted"] is False
    assert run_fact((str(tmp_path),), ())["trusted"] is True


HOST = "mail"


def placed_host(
    files: dict[str, FileState],
    trusted: bool = True,
    missing: frozenset[str] = frozenset(),
    folders: dict[str, FolderState] | None = None,
) -> FakeHost:
    """A host whose one observation of the placed files says this; ``contents`` the old text a --diff asks."""
    observation: PlacedFilesValue = {"files": files, "folders": folders or {}, "missing": set(missing), "trusted": trusted}
    fake = FakeHost({PlacedFiles: observation, FileContents: None}, name=HOST)
    return fake


def observed_paths(fake: FakeHost) -> list[tuple[str, ...]]:
    return [arguments["paths"] for arguments in fake.asked_for(PlacedFiles)]


WANTED = "smtpd_banner = $myhostname ESMTP\n"
AS_WANTED = FileState(0o644, "root", "root", hashlib.sha256(WANTED.encode()).hexdigest())


@pytest.fixture
def delegated(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """pyinfra's own files.put, recorded instead of run."""
    calls: list[str] = []

    def inner(kind: str) -> Any:
        def run(**kwargs: Any) -> Iterator[str]:
            calls.append(f"{kind} {kwargs['dest']}")
            yield f"upload {kwargs['dest']}"

        return SimpleNamespace(_inner=run)

    monkeypatch.setattr(placed.files, "put", inner("put"))
    monkeypatch.setattr(placed, "_placed", {})
    monkeypatch.setattr(placed, "_observed", {})
    monkeypatch.setattr(placed, "_twice", {})
    monkeypatch.setattr(placed, "_watched", {})
    # the packages the deploy declared (stamp.manage_packages) on the fake host
    monkeypatch.setitem(stamp._managed, HOST, {"package": {"postfix"}})
    with ctx_state.use(SimpleNamespace(config=SimpleNamespace(DIFF=False))):  # not a --diff run
        yield calls


def run_put(fake: FakeHost, dest: str, mode: str = "644", text: str = WANTED) -> list[Any]:
    """The operation as place() calls it for a template: with the rendered text."""
    with ctx_host.use(fake):
        return list(placed.put._inner(src=StringIO(text), dest=dest, mode=mode, user="root", group="root"))


def test_a_file_as_wanted_is_skipped_and_all_placed_files_are_observed_at_once(delegated: list[str]) -> None:
    fake = placed_host({"/etc/postfix/main.cf": AS_WANTED, "/etc/postfix/master.cf": AS_WANTED})
    with ctx_host.use(fake):
        for dest in ("/etc/postfix/main.cf", "/etc/postfix/master.cf", "/etc/mailname"):
            placed.register(dest)
        assert run_put(fake, "/etc/postfix/main.cf") == []
        # another mode: uploaded again; not observed at all: pyinfra's own operation does the work
        # Written beside, then renamed over: a stopped deploy never leaves half a file where Postfix reads it.
        assert commands(run_put(fake, "/etc/postfix/master.cf", mode="640")) == [
            "upload /etc/postfix/.master.cf.february-new",
            "chown root:root /etc/postfix/.master.cf.february-new && chmod 640 /etc/postfix/.master.cf.february-new"
            " && mv -f /etc/postfix/.master.cf.february-new /etc/postfix/master.cf",
        ]
        assert run_put(fake, "/etc/mailname") == ["upload /etc/mailname"]
    assert observed_paths(fake) == [("/etc/postfix/main.cf", "/etc/postfix/master.cf", "/etc/mailname")]
    assert fake.noops == ["/etc/postfix/main.cf is as wanted"]
    assert delegated == ["put /etc/mailname"]


def test_nothing_is_skipped_when_the_observation_is_untrusted_or_a_file_is_placed_twice(delegated: list[str]) -> None:
    fake = placed_host({"/etc/postfix/main.cf": AS_WANTED}, trusted=False)
    with ctx_host.use(fake):
        placed.register("/etc/postfix/main.cf")
        assert run_put(fake, "/etc/postfix/main.cf") == ["upload /etc/postfix/main.cf"]
    fake = placed_host({"/etc/mailname": AS_WANTED})
    placed._observed.clear()
    with ctx_host.use(fake):
        placed.register("/etc/mailname")
        placed.register("/etc/mailname")
        assert run_put(fake, "/etc/mailname") == ["upload /etc/mailname"]


def test_put_compares_the_bytes_of_a_local_file_or_of_text(delegated: list[str], tmp_path: Path) -> None:
    script = tmp_path / "february-backup"
    script.write_text(WANTED)
    fake = placed_host({"/usr/local/sbin/february-backup": AS_WANTED, "/etc/february/status.json": AS_WANTED})
    with ctx_host.use(fake):
        for dest in ("/usr/local/sbin/february-backup", "/etc/february/status.json"):
            placed.register(dest)
        common = {"mode": "644", "user": "root", "group": "root"}
        assert list(placed.put._inner(src=str(script), dest="/usr/local/sbin/february-backup", **common)) == []
        found = commands(list(placed.put._inner(src=StringIO("{}"), dest="/etc/february/status.json", **common)))
        assert found[0] == "upload /etc/february/.status.json.february-new"


def commands(found: list[Any]) -> list[str]:
    """What the operation yielded, as text: an upload as ``upload <dest>``, a command as its shell line."""
    return [f"upload {c.dest}" if isinstance(c, FileUploadCommand) else c.get_raw_value() for c in found]


def test_a_missing_or_different_file_is_uploaded_then_given_owner_and_mode_in_one_command(delegated: list[str]) -> None:
    different = AS_WANTED._replace(sha256="0" * 64)
    fake = placed_host({"/etc/postfix/main.cf": different}, missing=frozenset({"/etc/mailname"}))
    with ctx_host.use(fake):
        for dest in ("/etc/postfix/main.cf", "/etc/mailname", "/etc/february/x.json"):
            placed.register(dest)
        assert commands(run_put(fake, "/etc/postfix/main.cf", mode="640")) == [
            "upload /etc/postfix/.main.cf.february-new",
            "chown root:root /etc/postfix/.main.cf.february-new && chmod 640 /etc/postfix/.main.cf.february-new"
            " && mv -f /etc/postfix/.main.cf.february-new /etc/postfix/main.cf",
        ]
        assert commands(run_put(fake, "/etc/mailname")) == [
            "upload /etc/.mailname.february-new",
            "chown root:root /etc/.mailname.february-new && chmod 644 /etc/.mailname.february-new"
            " && mv -f /etc/.mailname.february-new /etc/mailname",
        ]
        # neither a file nor missing from a folder that exists: pyinfra's files.put looks for itself
        assert run_put(fake, "/etc/february/x.json") == ["upload /etc/february/x.json"]
        # a diff (`february diff`) logs what changes as pyinfra's files.put would, and asks only the old text
        with ctx_state.use(SimpleNamespace(config=SimpleNamespace(DIFF=True))):
            assert commands(run_put(fake, "/etc/mailname"))[0] == "upload /etc/.mailname.february-new"
            fake.facts[FileContents] = ["smtpd_banner = $myhostname"]
            assert commands(run_put(fake, "/etc/postfix/main.cf", mode="640"))[0] == "upload /etc/postfix/.main.cf.february-new"
        assert fake.logged == ["Will create /etc/mailname", "Will modify /etc/postfix/main.cf"]
        with pytest.raises(OperationError, match="mode must be"):
            run_put(fake, "/etc/mailname", mode="644; reboot")
    assert delegated == ["put /etc/february/x.json"]


def test_a_converge_observes_the_last_stamps_files_too_but_the_image_record_only_its_own() -> None:
    from pyinfra_deploys.image_record import record_command

    stamp_paths = "sed -n 's/^path //p; s/^present //p'"
    assert stamp_paths in PlacedFiles().command(paths=("/etc/mailname",), packages=(), stamped=True)
    # The image phase's record (bake and flashed host alike) is of exactly the files it names.
    assert stamp_paths not in record_command(["/etc/mailname"])


def test_a_folder_as_wanted_costs_nothing_a_missing_one_is_made_with_its_owner_a_wrong_one_mended(delegated: list[str]) -> None:
    ok, wrong = FolderState(0o750, "vmail", "vmail"), FolderState(0o755, "root", "vmail")
    fake = placed_host({}, folders={"/var/vmail": ok, "/etc/dovecot/sieve": wrong}, missing=frozenset({"/etc/february/acme"}))

    def folder(path: str, mode: str, user: str, group: str | None) -> list[str]:
        return commands(list(placed.folder._inner(path=path, mode=mode, user=user, group=group)))

    with ctx_host.use(fake):
        assert folder("/var/vmail", "750", "vmail", "vmail") == []
        assert folder("/etc/dovecot/sieve", "750", "vmail", "vmail") == [
            "chmod 750 /etc/dovecot/sieve",
            "chown vmail:vmail /etc/dovecot/sieve",
        ]
        assert folder("/etc/february/acme", "700", "root", "root") == ["install -d -m 700 -o root -g root /etc/february/acme"]
        assert folder("/etc/dovecot/sieve", "755", "root", None) == []  # any group
        with pytest.raises(OperationError, match="mode must be"):
            folder("/var/vmail", "7; reboot", "root", None)
    assert fake.noops == ["folder /var/vmail is as wanted", "folder /etc/dovecot/sieve is as wanted"]
    assert len(observed_paths(fake)) == 1, fake.asked  # one observation for all of them


def test_exists_answers_from_the_observation(delegated: list[str]) -> None:
    fake = placed_host({"/var/lib/rspamd/stats.ucl": AS_WANTED}, missing=frozenset({"/etc/ssl/mail/mail.key"}))
    with ctx_host.use(fake):
        assert placed.exists("/var/lib/rspamd/stats.ucl") is True
        assert placed.exists("/etc/ssl/mail/mail.key") is False
    assert len(observed_paths(fake)) == 1


def test_a_secret_as_wanted_costs_no_command_and_a_changed_one_is_never_shown(delegated: list[str]) -> None:
    from pyinfra_deploys.operations import secret

    password = "[relay.example.net]:587 user:generated-at-test-time\n"
    wanted = FileState(0o600, "root", "root", hashlib.sha256(password.encode()).hexdigest())
    fake = placed_host({"/etc/postfix/sasl_passwd": wanted})
    with ctx_host.use(fake):
        assert list(secret.put._inner(content=password, dest="/etc/postfix/sasl_passwd")) == []
    assert fake.noops == ["/etc/postfix/sasl_passwd is as wanted (secret)"]
    assert all("generated-at-test-time" not in line for line in fake.noops)


def test_a_changed_or_missing_secret_is_known_from_the_observation_and_moved_in_with_one_command(delegated: list[str]) -> None:
    from pyinfra_deploys.operations import secret

    password = "[relay.example.net]:587 user:rotated-at-test-time\n"
    old = FileState(0o600, "root", "root", "0" * 64)
    fake = placed_host({"/etc/postfix/sasl_passwd": old}, missing=frozenset({"/etc/dovecot/users"}))
    with ctx_host.use(fake):
        for dest in ("/etc/postfix/sasl_passwd", "/etc/dovecot/users"):
            done = commands(list(secret.put._inner(content=password, dest=dest, group="postfix")))
            folder, name = dest.rsplit("/", 1)
            partial = f"{folder}/.{name}.february-new"
            assert done == [
                f"install -m 600 -o root -g postfix /dev/null {partial}",
                f"upload {partial}",
                f"chown root:postfix {partial} && chmod 600 {partial} && mv -f {partial} {dest}",
            ]
    # No File or Sha1File asked: the one observation said both were not as wanted.
    assert {cls for cls, _ in fake.asked} == {PlacedFiles}
    assert all("rotated-at-test-time" not in line for line in done + fake.logged + fake.noops)


def test_a_secret_with_only_another_mode_is_given_its_mode_and_not_uploaded(delegated: list[str]) -> None:
    from pyinfra_deploys.operations import secret

    password = "[relay.example.net]:587 user:generated-at-test-time\n"
    loose = FileState(0o644, "root", "root", hashlib.sha256(password.encode()).hexdigest())
    fake = placed_host({"/etc/postfix/sasl_passwd": loose})
    with ctx_host.use(fake):
        done = commands(list(secret.put._inner(content=password, dest="/etc/postfix/sasl_passwd")))
    assert done == ["chmod 600 /etc/postfix/sasl_passwd"]


def test_the_observation_is_trusted_only_when_every_package_wanted_is_installed_and_the_command_finished() -> None:
    installed = ["wants postfix", "wants dovecot-core", "package ii postfix", "package ii dovecot-core", "observed"]
    assert PlacedFiles().process(installed)["trusted"] is True
    removed = ["wants postfix", "wants dovecot-core", "package ii postfix", "package un dovecot-core", "observed"]
    assert PlacedFiles().process(removed)["trusted"] is False
    assert PlacedFiles().process(installed[:-1])["trusted"] is False  # cut short


def test_a_path_turned_off_costs_nothing_when_it_is_not_there(delegated: list[str]) -> None:
    fake = placed_host({"/etc/apt/apt.conf.d/80february-proxy": AS_WANTED}, missing=frozenset({"/etc/postfix/smarthost-ca.pem"}))
    with ctx_host.use(fake):
        assert commands(list(placed.removed._inner(path="/etc/postfix/smarthost-ca.pem"))) == []
        assert commands(list(placed.removed._inner(path="/etc/apt/apt.conf.d/80february-proxy"))) == [
            "rm -f /etc/apt/apt.conf.d/80february-proxy"
        ]
    assert fake.noops == ["/etc/postfix/smarthost-ca.pem is not there"]
    assert len(observed_paths(fake)) == 1

#!/usr/bin/python3
"""February's generations, kept on the host as root: ``february-generation CONFIG COMMAND``.

A generation is the content, mode and owner of every file the deploy
manages, after a converge that changed one of them (NixOS's generations,
for a mail host's configuration). The state (the mail, the DKIM keys, the
TLS key and certificate) is never part of one. The deploy uploads this file
verbatim (``roles/generations.py``) beside CONFIG, a JSON file rendered
from ``layout`` and the settings, so no path is spelled here. It imports
nothing but the standard library.

Commands (one JSON line or plain lines on stdout, reasons on stderr):

``record REVISION DIRTY SETTINGS_DIGEST REASON``
    After a converge: record the managed files (listed by the converge
    stamp) as a new generation unless they equal the current one's; prune
    past ``keep``. Prints ``recorded N`` or ``unchanged N``.
``list``
    The generations as a JSON list, oldest first, the current one marked.
``current``
    The current generation's number (nothing when there is none).
``switch N REASON``
    Put generation N's files back. Every changed file is written, then the
    set is validated by the checks of the services whose files changed
    (``validate``: postconf, doveconf, rspamadm configtest; a change of
    UFW's rules alone needs none); if a check fails, the files are put back as
    they were, nothing is reloaded, and the exit status is 2. Otherwise the
    services whose files changed reload or restart, and the switch is
    recorded as a new generation (as ``nixos-rebuild --rollback`` does).
    The converge stamp of generation N comes back with its files.
``arm SECONDS N REASON``
    The host's own way back (deploy-rs's "magic rollback"): unless
    ``confirm`` comes first, generation N is switched back to SECONDS from
    now, by a transient systemd timer (``fire``). Arming again replaces it.
``arm SECONDS current REASON``
    The same to the generation current now, in one call (a deploy asks
    nothing first): prints ``current N``, or ``current none`` and arms
    nothing when the host has no generation yet.
``confirm``
    Disarm: the deployer reached the host over a new connection after the
    switch. Exit status 3 when nothing was armed any more (it fired).
``fire``
    What the timer runs: switch to the armed generation, if still armed.
``resume``
    What the boot runs (a transient timer does not outlive a reboot): an
    armed rollback whose window closed while the host was down fires now,
    one still open is armed again for what is left of it. An owner who
    power-cycles a box that shut them out gets the old rules back.
``show N PATH``
    PATH as generation N would leave it: its copy, or the live file when N
    does not manage PATH. Exit status 4 when it would be absent.
``verify SECONDS``
    The checks a switch must pass (``verify_sections`` of the health
    checks: services, ports, milter, and a local delivery: a probe message
    into the first mailbox, deleted once it arrived), retried until they pass or SECONDS
    have gone; exit status 0 or 2, the failed checks on stderr.
``verify SECONDS arm SECONDS N REASON``
    The checks, then (only when they passed) ``arm`` in the same call: the
    window to confirm starts once the host is known good. Exit status 5
    when the checks passed but the rollback could not be armed.

Exit status: 0 ok, 1 bad usage or unknown generation, 2 a failed check.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Manifest = dict[str, str]  # path -> "sha256 mode uid gid", or "absent"


@dataclass(frozen=True)
class Config:
    root: Path  # the generations folder (root only)
    stamp: Path  # the converge stamp: its "path P" lines are the managed paths
    keep: int  # generations kept
    state_paths: tuple[str, ...]  # never part of a generation
    validate: tuple[tuple[str, str], ...]  # (path prefix, shell command) that must pass before any reload
    reload: tuple[tuple[str, str], ...]  # (path prefix, shell command) for changed files, in order
    status_script: str  # the health checks (february-status) and their config
    status_config: str
    verify_sections: tuple[str, ...]
    rollback_unit: str | None = None  # the transient timer's unit name; None: no timer (fire by hand)
    source: str = ""  # this configuration's file: the armed timer runs the script with it again

    @classmethod
    def load(cls, path: str) -> Config:
        data = json.loads(Path(path).read_text())
        return cls(
            root=Path(data["root"]),
            stamp=Path(data["stamp"]),
            keep=int(data["keep"]),
            state_paths=tuple(data["state_paths"]),
            validate=tuple((prefix, command) for prefix, command in data["validate"]),
            reload=tuple((prefix, command) for prefix, command in data["reload"]),
            status_script=data["status_script"],
            status_config=data["status_config"],
            verify_sections=tuple(data["verify_sections"]),
            rollback_unit=data.get("rollback_unit"),
            source=os.path.abspath(path),
        )


def is_state(config: Config, path: str) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in config.state_paths)


def managed_files(config: Config) -> list[str]:
    """The regular files the last converge managed, state excluded (the stamp lists directories too)."""
    if not config.stamp.exists():
        return []
    paths = [line[5:].strip() for line in config.stamp.read_text().splitlines()[2:] if line.startswith("path ")]
    return sorted(p for p in paths if not is_state(config, p) and not Path(p).is_dir())


def describe(path: str) -> str:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return "absent"
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"{digest} {info.st_mode & 0o7777:o} {info.st_uid} {info.st_gid}"


def manifest_of(paths: list[str]) -> Manifest:
    return {path: describe(path) for path in paths}


# ----- the store: ROOT/N/{meta.json,manifest.json,files.tar}, ROOT/current -----


def numbers(config: Config) -> list[int]:
    if not config.root.is_dir():
        return []
    return sorted(int(p.name) for p in config.root.iterdir() if p.name.isdigit() and (p / "meta.json").exists())


def current(config: Config) -> int | None:
    marker = config.root / "current"
    return int(marker.read_text()) if marker.exists() else None


def read_manifest(config: Config, number: int) -> Manifest:
    data: Manifest = json.loads((config.root / str(number) / "manifest.json").read_text())
    return data


def record(config: Config, revision: str, dirty: bool, settings_digest: str, reason: str, paths: list[str] | None = None) -> int:
    """A new generation of ``paths`` (default: the managed files) unless they equal the current one; its number."""
    paths = managed_files(config) if paths is None else paths
    manifest = manifest_of(paths)
    now = current(config)
    if now is not None and read_manifest(config, now) == manifest:
        keep_stamp(config, config.root / str(now))
        print(f"unchanged {now}")
        return now
    config.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(config.root, 0o700)
    number = max(numbers(config), default=0) + 1
    work = Path(tempfile.mkdtemp(prefix=".new-", dir=config.root))
    with tarfile.open(work / "files.tar", "w") as tar:
        for path, entry in manifest.items():
            if entry != "absent":
                tar.add(path, arcname=path.lstrip("/"), recursive=False)
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    meta = {
        "number": number,
        "time": int(time.time()),
        "revision": revision,
        "dirty": dirty,
        "settings_digest": settings_digest,
        "reason": reason,
        "files": len([e for e in manifest.values() if e != "absent"]),
    }
    (work / "meta.json").write_text(json.dumps(meta, sort_keys=True) + "\n")
    keep_stamp(config, work)
    work.rename(config.root / str(number))
    marker = config.root / ".current.new"
    marker.write_text(f"{number}\n")
    marker.rename(config.root / "current")
    for old in numbers(config)[: -config.keep]:
        shutil.rmtree(config.root / str(old))
    print(f"recorded {number}")
    return number


def keep_stamp(config: Config, folder: Path) -> None:
    """The converge stamp beside the files it describes: a switch puts it back with them.

    Not part of the comparison (a code change that changes no file gives a new
    stamp, not a new generation): the current generation's copy is refreshed.
    With it back, a host switched to a generation is "converged" for the
    inventory that made that generation, and for no other (february diff).
    """
    if config.stamp.exists():
        shutil.copy2(config.stamp, folder / ".stamp.new")
        (folder / ".stamp.new").rename(folder / "stamp")


def put_stamp(config: Config, number: int) -> None:
    kept = config.root / str(number) / "stamp"
    if kept.exists():
        partial = config.stamp.with_name(config.stamp.name + ".switch")
        shutil.copy2(kept, partial)
        partial.rename(config.stamp)


def listing(config: Config) -> list[dict[str, Any]]:
    now = current(config)
    found = []
    for number in numbers(config):
        meta = json.loads((config.root / str(number) / "meta.json").read_text())
        found.append({**meta, "current": number == now})
    return found


# ----- switching -----


def run(command: str, timeout: float = 300) -> tuple[int, str, str]:
    """A shell command's exit status, stdout and stderr; one that outlasts ``timeout`` is a failure (124), not a crash.

    A crash in the middle of a switch would leave the new files in place, unvalidated and unrecorded.
    """
    try:
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout:.0f} s"
    return done.returncode, done.stdout, done.stderr


def put_files(tar_path: Path, manifest: Manifest, paths: list[str]) -> None:
    """Make each of ``paths`` as ``manifest`` (from ``tar_path``) has it: written with its mode and owner, or removed."""
    wanted = {p.lstrip("/") for p in paths if manifest.get(p, "absent") != "absent"}
    for path in paths:
        if manifest.get(path, "absent") == "absent" and os.path.lexists(path):
            os.unlink(path)
    if not wanted:
        return
    with tarfile.open(tar_path) as tar:
        members = [m for m in tar.getmembers() if m.name in wanted]
        for member in members:
            target = Path("/") / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            assert source is not None, member.name
            # Written beside, with its final mode and owner, then renamed over: never a
            # moment with the new content under the old file's looser mode.
            fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), member.mode & 0o7777)
                os.fchown(handle.fileno(), member.uid, member.gid)
                shutil.copyfileobj(source, handle)
            os.rename(partial, target)


def switch(config: Config, number: int, reason: str) -> int:
    if number not in numbers(config):
        print(f"no generation {number} (have: {' '.join(map(str, numbers(config))) or 'none'})", file=sys.stderr)
        return 1
    target = read_manifest(config, number)
    now = current(config)
    known = set(target) | set(read_manifest(config, now) if now is not None else {}) | set(managed_files(config))
    before = manifest_of(sorted(known))
    changed = sorted(p for p in known if before[p] != target.get(p, "absent"))
    if not changed:
        print(f"generation {number}: no file differs")
        put_stamp(config, number)
        record_after_switch(config, number, reason, sorted(target))
        return 0
    with tempfile.TemporaryDirectory(dir=config.root) as scratch:
        # The files as they are now, to put back if the set does not validate.
        saved = Path(scratch) / "before.tar"
        with tarfile.open(saved, "w") as tar:
            for path in changed:
                if before[path] != "absent":
                    tar.add(path, arcname=path.lstrip("/"), recursive=False)
        put_files(config.root / str(number) / "files.tar", target, changed)
        for command in commands_for(config.validate, changed):
            status, out, err = run(command)
            if status != 0:
                put_files(saved, before, changed)
                print(f"validation failed: {command}: {(err or out).strip()[-600:]}", file=sys.stderr)
                print("the files are as they were; nothing was reloaded", file=sys.stderr)
                return 2
    put_stamp(config, number)
    for path in changed:
        print(f"changed {path}")
    failed = False
    for command in commands_for(config.reload, changed):
        status, out, err = run(command)
        print(f"{'ran' if status == 0 else 'FAILED'} {command_name(command)}")
        if status != 0:
            print(f"{command}: {(err or out).strip()[-600:]}", file=sys.stderr)
            failed = True
    record_after_switch(config, number, reason, sorted(target))
    return 2 if failed else 0


def command_name(command: str) -> str:
    """A command as a person reads it: a script (``python3 -c '...'``) by its first line, which names it."""
    return command.split("\n", 1)[0] + (" ...'" if "\n" in command else "")


def commands_for(pairs: tuple[tuple[str, str], ...], changed: list[str]) -> list[str]:
    """The commands (checks, or reloads and restarts) of the changed files' prefixes, once each, in the pairs' order."""
    commands: list[str] = []
    for prefix, command in pairs:
        if any(path.startswith(prefix) for path in changed) and command not in commands:
            commands.append(command)
    return commands


def record_after_switch(config: Config, number: int, reason: str, paths: list[str]) -> None:
    meta = json.loads((config.root / str(number) / "meta.json").read_text())
    record(config, meta["revision"], meta["dirty"], meta["settings_digest"], reason, paths=paths)


def show(config: Config, number: int, path: str) -> int:
    if number not in numbers(config):
        print(f"no generation {number}", file=sys.stderr)
        return 1
    entry = read_manifest(config, number).get(path)
    if entry == "absent" or (entry is None and not os.path.isfile(path)):
        return 4
    if entry is None:
        sys.stdout.write(Path(path).read_text())
        return 0
    with tarfile.open(config.root / str(number) / "files.tar") as tar:
        member = tar.extractfile(path.lstrip("/"))
        assert member is not None, path
        sys.stdout.write(member.read().decode())
    return 0


# ----- the host's own rollback: armed before a switch, confirmed from a new connection after it -----


@contextmanager
def locked(config: Config) -> Iterator[None]:
    """One of arm, confirm and fire at a time: a confirmation never meets a rollback half done."""
    config.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(config.root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def armed_path(config: Config) -> Path:
    return config.root / "armed"


def stop_timer(config: Config) -> None:
    if config.rollback_unit is not None:
        unit = shlex.quote(config.rollback_unit)
        run(f"systemctl stop {unit}.timer; systemctl reset-failed {unit}.timer {unit}.service 2>/dev/null; true")


def arm(config: Config, seconds: int, number: int, reason: str) -> int:
    if number not in numbers(config):
        print(f"no generation {number} to go back to", file=sys.stderr)
        return 1
    with locked(config):
        return _arm(config, seconds, number, reason)


def arm_current(config: Config, seconds: int, reason: str) -> int:
    with locked(config):
        now = current(config)
        if now is None or now not in numbers(config):
            print("current none")
            return 0
        print(f"current {now}")
        return _arm(config, seconds, now, reason)


VERIFIED_NOT_ARMED = 5  # verify ... arm ...: the checks passed, the rollback could not be armed


def verify_then_arm(config: Config, seconds: float, arm_seconds: int, number: int, reason: str) -> int:
    status = verify(config, seconds)
    if status != 0:
        return status
    return 0 if arm(config, arm_seconds, number, reason) == 0 else VERIFIED_NOT_ARMED


def _arm(config: Config, seconds: int, number: int, reason: str) -> int:
    """Arm (or arm again) the transient timer; the caller holds the lock."""
    stop_timer(config)
    record = {"target": number, "reason": reason, "deadline": int(time.time()) + seconds, "seconds": seconds}
    partial = armed_path(config).with_suffix(".new")
    partial.write_text(json.dumps(record) + "\n")
    partial.rename(armed_path(config))
    if config.rollback_unit is not None:
        argv = [
            "systemd-run",
            f"--unit={config.rollback_unit}",
            f"--on-active={seconds}s",
            "--timer-property=AccuracySec=1s",
            f"--description=February: back to generation {number} unless the switch is confirmed",
            sys.executable,
            os.path.abspath(sys.argv[0]),
            config.source,
            "fire",
        ]
        status, out, err = run(shlex.join(argv))
        if status != 0:
            armed_path(config).unlink()
            print(f"systemd-run failed: {(err or out).strip()[-300:]}", file=sys.stderr)
            return 2
    print(f"armed: back to generation {number} in {seconds} s unless confirmed")
    return 0


def armed_record(config: Config) -> dict[str, Any] | None:
    """What is armed (target, reason, deadline, seconds), or None; the caller holds the lock."""
    try:
        record: dict[str, Any] = json.loads(armed_path(config).read_text())
    except FileNotFoundError:
        return None
    return record


def confirm(config: Config) -> int:
    with locked(config):
        if armed_record(config) is None:
            print("nothing armed: the host's own rollback has run, or none was armed", file=sys.stderr)
            return 3
        stop_timer(config)
        armed_path(config).unlink()
    print("confirmed")
    return 0


def fire(config: Config) -> int:
    with locked(config):
        record = armed_record(config)
        if record is None:
            print("nothing armed (confirmed meanwhile)")
            return 0
        return _fire(config, record)


def _fire(config: Config, record: dict[str, Any]) -> int:
    status = switch(config, int(record["target"]), str(record["reason"]))
    # Only now: whoever waits for the rollback (``armed`` gone) finds it done and recorded.
    armed_path(config).unlink()
    return status


def resume(config: Config) -> int:
    with locked(config):  # throughout: a confirmation meanwhile is never armed again
        record = armed_record(config)
        if record is None:
            print("nothing armed")
            return 0
        # At most the window it was armed with: a clock set back at boot must not stretch it.
        left = max(0, min(int(record["deadline"]) - int(time.time()), int(record.get("seconds", 0))))
        if left == 0:
            print(f"the window to confirm closed while the host was down: back to generation {record['target']} now")
            return _fire(config, record)
        return _arm(config, left, int(record["target"]), str(record["reason"]))


def verify(config: Config, seconds: float) -> int:
    """Retry the switch checks until they pass or ``seconds`` have gone."""
    deadline = time.monotonic() + seconds
    command = shlex.join([config.status_script, config.status_config, "--only", ",".join(config.verify_sections)])
    while True:
        status, output, err = run(command)
        try:
            results = json.loads(output) if status in (0, 1, 2) else []
        except json.JSONDecodeError:
            results = []
        output = output or err
        failed = [r for r in results if r["section"] in config.verify_sections and r["level"] == "error"]
        if results and not failed:
            print("verified: " + ", ".join(sorted({r["section"] for r in results if r["section"] in config.verify_sections})))
            return 0
        if time.monotonic() > deadline:
            for r in failed or [{"section": "checks", "name": "february-status", "message": output[-300:]}]:
                print(f"failed check: {r['section']}: {r['name']}: {r['message']}", file=sys.stderr)
            return 2
        time.sleep(3)


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 1
    config, command, args = Config.load(argv[1]), argv[2], argv[3:]
    if command == "record" and len(args) == 4:
        record(config, args[0], args[1] == "1", args[2], args[3])
        return 0
    if command == "list" and not args:
        print(json.dumps(listing(config)))
        return 0
    if command == "current" and not args:
        now = current(config)
        print("" if now is None else now)
        return 0
    if command == "switch" and len(args) == 2 and args[0].isdigit():
        return switch(config, int(args[0]), args[1])
    if command == "arm" and len(args) == 3 and args[0].isdigit() and args[1] == "current":
        return arm_current(config, int(args[0]), args[2])
    if command == "arm" and len(args) == 3 and args[0].isdigit() and args[1].isdigit():
        return arm(config, int(args[0]), int(args[1]), args[2])
    if command == "show" and len(args) == 2 and args[0].isdigit():
        return show(config, int(args[0]), args[1])
    if command == "confirm" and not args:
        return confirm(config)
    if command == "fire" and not args:
        return fire(config)
    if command == "resume" and not args:
        return resume(config)
    if command == "verify" and len(args) == 1 and args[0].isdigit():
        return verify(config, float(args[0]))
    if command == "verify" and len(args) == 5 and args[1] == "arm" and all(a.isdigit() for a in (args[0], args[2], args[3])):
        return verify_then_arm(config, float(args[0]), int(args[2]), int(args[3]), args[4])
    print(f"bad usage: {' '.join(argv[2:])}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The backup script's status, as `february backup list` reads it."""

from __future__ import annotations

import json

from february.backups import SNAPSHOT, parse_status

SNAPSHOTS = [{"short_id": "4f2a9c1e", "time": "2026-12-07T03:00:01.5Z", "paths": ["/var/vmail"]}]


def test_a_reachable_repository_its_snapshots_and_the_last_success() -> None:
    state = parse_status(["1796612401", json.dumps(SNAPSHOTS)], failed=False)
    assert (state.last_success, state.reachable, state.failed, state.snapshots) == (1796612401, True, False, SNAPSHOTS)
    assert state.last_success_text(now=1796612401 + 5400) == "2026-12-07 03:00 UTC (1.5 h ago)"


def test_never_backed_up_and_an_unreadable_repository() -> None:
    state = parse_status(["never", "unreachable"], failed=True)
    assert (state.last_success, state.reachable, state.failed, state.snapshots) == (None, False, True, [])
    assert state.last_success_text() == "never"
    assert parse_status([], failed=False).last_success is None


def test_a_snapshot_is_an_id_or_latest() -> None:
    assert SNAPSHOT.fullmatch("latest") and SNAPSHOT.fullmatch("4f2a9c1e")
    assert not SNAPSHOT.fullmatch("4f2a; rm -rf /") and not SNAPSHOT.fullmatch("4f2")

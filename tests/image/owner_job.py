"""The owner's new box, brought up in a process of its own while the VM tests run.

    python -m tests.image.owner_job BAKE_RESULT BAKE_PID SITE_FOLDER RESULT

Started by tests/image/conftest.py with the bake (OwnerJob); the owner-path
test's `site` fixture waits for it. It waits for the bake's RESULT (or the
bake's end without one), then, niced so the VM tests keep the CPU they need,
makes the site, flashes the golden image onto a blank disk, boots it with no
seed but the disk's own, and converges it as the sudo user
(tests/image/test_owner_path.py's bring_up). The box keeps running; RESULT
gets the site's facts and the figures. Everything that needs the dead
server (its backup disk, the restore) is left to the test.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from tests.image.conftest import TIMINGS
from tests.image.test_owner_path import bring_up, make_site

NICENESS = 10  # below the VM tests: this box only has to be up before they end


def bake_running(pid: int) -> bool:
    """Whether the bake job still runs (an exited job stays a zombie until pytest reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_for_bake(result: Path, pid: int) -> Path:
    while not result.exists():
        if not bake_running(pid) and not result.exists():
            raise SystemExit(f"the bake ended without an image ({result} missing); see its log beside it")
        time.sleep(2)
    return Path(json.loads(result.read_text())["folder"])


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    bake_result, folder, result = Path(argv[1]), Path(argv[3]), Path(argv[4])
    os.nice(NICENESS)
    image = wait_for_bake(bake_result, int(argv[2]))
    began = time.monotonic()
    site = make_site(folder)
    bring_up(site, image, site.disk)
    TIMINGS["owner_job_s"] = time.monotonic() - began
    result.write_text(json.dumps({"facts": site.facts, "timings": TIMINGS}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""The owner's path, timed: blank disk -> serving mail again, flash throughput, backup and restore.

    .venv/bin/python bench/owner_bench.py

Bakes (or reuses, by input hash) the golden image into .state/bake-bench-owner,
then runs the owner-path flow of tests/image/test_owner_path.py on the
"owner" VM slot: flash a blank NVMe disk file, boot (UEFI, e1000e, no seed
but the disk's own), converge as the sudo user, mail in and out, `february
backup now`; destroy; flash a new blank disk, boot, converge, `february backup
restore`. Prints one line per figure. Under TCG on these 2-core machines.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from february.paths import state_dir
from february.vm import qemu
from images.pipeline import build
from tests.image import test_owner_path as flow
from tests.image.conftest import TIMINGS


def main() -> int:
    figures: dict[str, float] = {}
    began = time.monotonic()
    folder = build(state_dir() / "bake-bench-owner")
    figures["golden image (bake or cached) s"] = time.monotonic() - began
    baked = SimpleNamespace(raw=folder / "february.raw", folder=folder)
    with tempfile.TemporaryDirectory(prefix="february-owner-bench-") as tmp:
        site = flow.make_site(Path(tmp))
        try:
            first = flow.bring_up(site, baked, site.config.dir / "disk-a.raw")  # type: ignore[arg-type]
            figures["first host: flash s"] = TIMINGS["flash_s"]
            figures["first host: flash write MiB/s"] = TIMINGS["flash_write_mib_per_s"]
            figures["first host: blank disk -> SSH s"] = TIMINGS["flash_to_ssh_s"]
            figures["first host: blank disk -> converged s"] = TIMINGS["flash_to_converged_s"]
            flow.mail_in_and_out(first, "alice@example.test", "bench")
            began = time.monotonic()
            flow.february("backup", "now", "-i", str(site.inventory))
            figures["backup now s"] = time.monotonic() - began
            qemu.stop(site.config)
            began = time.monotonic()
            second = flow.bring_up(site, baked, site.config.dir / "disk-b.raw")  # type: ignore[arg-type]
            figures["second host: blank disk -> converged s"] = TIMINGS["flash_to_converged_s"]
            restore = time.monotonic()
            flow.february("backup", "restore", "-i", str(site.inventory))
            figures["backup restore (with its converge) s"] = time.monotonic() - restore
            figures["blank disk -> serving mail again s"] = time.monotonic() - began
            flow.mail_in_and_out(second, "bob@example.test", "bench after restore")
        finally:
            qemu.stop(site.config)
            for disk in ("disk-a.raw", "disk-b.raw"):
                (site.config.dir / disk).unlink(missing_ok=True)
    print()
    for label, value in figures.items():
        print(f"{label:44s} {value:9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

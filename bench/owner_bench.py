"""The owner's path, timed: blank disk -> serving mail again, flash throughput, backup and restore.

    .venv/bin/python bench/owner_bench.py

Bakes (or reuses, by input hash) the golden image into .state/bake-bench-owner,
then runs the owner-path flow of tests/image/owner_job.py on the
"owner" VM slot: flash a blank NVMe disk file, boot (UEFI, e1000e, no seed
but the disk's own), converge as the sudo user, plug in the USB backup disk,
mail in and out, `february backup now`; destroy; flash a new blank disk,
boot, converge, plug the backup disk in, `february backup restore`. Prints
one line per figure. Under TCG on these 2-core machines.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from february.paths import state_dir
from february.vm import lifecycle, qemu
from images.pipeline import build
from pyinfra_deploys.settings.inventory import inventory_host
from tests.image import owner_job
from tests.image.test_owner_path import february, mail_in_and_out
from tests.vm.fixtures import make_backup_disk
from tests.vm.mailvm import MailVm


def serving(site: owner_job.Site, up: owner_job.BroughtUp, backup_disk: Path) -> MailVm:
    """The owner's hands on a converged box: the backup disk plugged in, the host's DNS records published."""
    owner_job.plug_in_backup_disk(up.vm, backup_disk)
    lifecycle.publish_dns(site.config, inventory_host(site.inventory))
    return up.vm


def main() -> int:
    figures: dict[str, float] = {}
    began = time.monotonic()
    folder = build(state_dir() / "bake-bench-owner")
    figures["golden image (bake or cached) s"] = time.monotonic() - began
    with tempfile.TemporaryDirectory(prefix="february-owner-bench-") as tmp:
        site = owner_job.make_site(Path(tmp))
        backup_disk = make_backup_disk(Path(tmp) / "backup.img")
        try:
            up = owner_job.bring_up(site, folder, site.config.dir / "disk-a.raw")
            figures["first host: flash s"] = up.timings["flash_s"]
            figures["first host: flash write MiB/s"] = up.timings["flash_write_mib_per_s"]
            figures["first host: blank disk -> SSH s"] = up.timings["flash_to_ssh_s"]
            figures["first host: blank disk -> converged s"] = up.timings["flash_to_converged_s"]
            mail_in_and_out(serving(site, up, backup_disk), "alice@example.test", "bench")
            began = time.monotonic()
            february("backup", "now", "-i", str(site.inventory))
            figures["backup now s"] = time.monotonic() - began
            qemu.stop(site.config)
            began = time.monotonic()
            up = owner_job.bring_up(site, folder, site.config.dir / "disk-b.raw")
            figures["second host: blank disk -> converged s"] = up.timings["flash_to_converged_s"]
            second = serving(site, up, backup_disk)
            restore = time.monotonic()
            february("backup", "restore", "-i", str(site.inventory))
            figures["backup restore (with its converge) s"] = time.monotonic() - restore
            figures["blank disk -> serving mail again s"] = time.monotonic() - began
            mail_in_and_out(second, "bob@example.test", "bench after restore")
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

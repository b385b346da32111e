"""Measure the local VM's life: base image build, boot to SSH, cold and no-op converge.

    .venv/bin/python bench/vm_bench.py [--cold-base]

--cold-base runs in a fresh, empty cache, as `february vm` on a new machine:
the base image is built (about 2 minutes) and Rspamd's databases are
compiled natively beside the boot. Without it the cached base and databases
are used. The first converge is the lab's (`cold_converge`: the cached
databases go in first). Uses the default VM slot, so stop a running
`february vm` first. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from february.vm import lifecycle, qemu
from february.vm.config import DEFAULT
from february.vm.world_process import stop_world
from images.base_image import base_image


def timed(label: str, figures: dict[str, float], func, *args):
    began = time.monotonic()
    result = func(*args)
    figures[label] = time.monotonic() - began
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold-base", action="store_true", help="build the base image into an empty cache")
    args = parser.parse_args()
    if qemu.running_pid(DEFAULT) is not None:
        sys.exit("a VM is running in the default slot; `february vm stop` first")

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="february-bench-cache-") as cache:
        if args.cold_base:
            os.environ["FEBRUARY_CACHE"] = cache
        base = timed("base image build, cold (s)" if args.cold_base else "base image lookup, cached (s)", figures, base_image)
        figures["boot to SSH (s)"] = lifecycle.boot(DEFAULT, base)
        try:
            timed("cold converge (s)", figures, lifecycle.cold_converge)
            timed("no-op converge (s)", figures, lifecycle.converge)
        finally:
            qemu.stop(DEFAULT)
            stop_world(DEFAULT)
    figures["boot + cold converge (s)"] = figures["boot to SSH (s)"] + figures["cold converge (s)"]
    print()
    for label, value in figures.items():
        print(f"{label:32s} {value:8.1f}")


if __name__ == "__main__":
    main()

"""Measure one setting change as an owner makes it: `february diff`, then `february deploy` with its confirmation, then back.

    .venv/bin/python bench/change_bench.py [-i INVENTORY] [--host H] [--runs N]

Against a converged host (default: the lab VM, `inventory/vm.py`, reached as
root; give an inventory like `inventory/hosts.py` to measure a sudo user's
path). Each run writes a copy of the inventory beside a symlink to its
group_data, with one setting changed (the banner, as the README's
walk-through), and times:

- `february diff` of the unchanged inventory (the converge stamp answers);
- `february diff` of the changed one (a full dry run);
- `february deploy` of the changed one (converge, checks, arm, confirm over a new connection);
- `february deploy` of the unchanged one again (the way back).

Prints one line per figure (minimum, median, maximum over the runs). Uses
the host as it is: start `february vm` first for the lab VM.
"""

from __future__ import annotations

import argparse
import copy
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from february.paths import REPO

FEBRUARY = Path(sys.executable).parent / "february"


def changed_inventory(inventory: Path, folder: Path) -> Path:
    """``inventory`` with every host's overrides plus a banner that differs from the settings'."""
    (folder / "group_data").symlink_to(inventory.resolve().parent / "group_data")
    hosts = runpy.run_path(str(inventory))
    lines = []
    for group, members in hosts.items():
        if group.startswith("_") or not isinstance(members, list):
            continue
        changed = []
        for name, data in members:
            group_overrides = runpy.run_path(str(inventory.resolve().parent / "group_data" / f"{group}.py"))
            overrides = copy.deepcopy(group_overrides.get("february_overrides", {}))
            overrides["banner"] = "$myhostname ESMTP February bench"
            changed.append((name, {**data, "february_overrides": overrides}))
        lines.append(f"{group} = {changed!r}")
    path = folder / inventory.name
    path.write_text("\n".join(lines) + "\n")
    return path


def timed(argv: list[str], ok: tuple[int, ...]) -> float:
    began = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    seconds = time.monotonic() - began
    if done.returncode not in ok:
        sys.exit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-i", "--inventory", type=Path, default=REPO / "inventory" / "vm.py")
    parser.add_argument("--host", default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    host = ["--host", args.host] if args.host else []
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="february-change-bench-") as folder:
        changed = changed_inventory(args.inventory, Path(folder))
        for _ in range(args.runs):
            steps = {
                "diff, no change (s)": ([str(FEBRUARY), "diff", "-i", str(args.inventory), *host], (0,)),
                "diff, one setting (s)": ([str(FEBRUARY), "diff", "-i", str(changed), *host], (1,)),
                "deploy + confirm, one setting (s)": ([str(FEBRUARY), "deploy", str(changed), *host], (0,)),
                "deploy + confirm, back (s)": ([str(FEBRUARY), "deploy", str(args.inventory), *host], (0,)),
            }
            for label, (argv, ok) in steps.items():
                figures.setdefault(label, []).append(timed(argv, ok))
    print()
    for label, values in figures.items():
        print(f"{label:36s} min {min(values):6.1f}  median {statistics.median(values):6.1f}  max {max(values):6.1f}")


if __name__ == "__main__":
    main()

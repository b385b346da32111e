"""The session's bake, run in a process of its own so it overlaps the VM tests.

    python -m tests.image.bake_job OUTPUT BUILD_KEY_DIR RESULT

Started by tests/image/conftest.py as soon as a session has collected a test
that needs the golden image; the `baked` fixture waits for it. A process, not
a thread: the bake reads FEBRUARY_SETTINGS_DIR (the canary settings), which
must not change the environment of the tests running meanwhile. On success it
writes RESULT, a JSON object with the image folder and the bake's seconds.

Once the base layer is built (the session's VM boots from it), the bake
yields the CPU to the session's VM and tests: Linux shares the CPU between
sessions (autogroups) before processes, and the bake is a session of its
own, so the plain `nice` tried earlier changed nothing (the session VM's
boot 126 s against 128 s). The nice of its autogroup does.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from february.process import to_background
from images import oses
from images.base_image import base_image
from images.base_layer import BaseLayer
from images.pipeline import build
from images.progress import stage

# The lab's site: the hosts the tests converge are in group `vm` (group_data/vm.py), so is the image.
GROUPS = ("vm",)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    output, key_dir, result = (Path(arg) for arg in argv[1:])
    began = time.monotonic()
    with stage(f"Base image ({oses.DEFAULT.title})") as on_line:
        base = base_image(BaseLayer.of(oses.DEFAULT), on_line=on_line)
    to_background()
    folder = build(output, build_key_dir=key_dir, groups=GROUPS, base=base)
    result.write_text(json.dumps({"folder": str(folder), "seconds": round(time.monotonic() - began, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

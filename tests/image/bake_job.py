"""The session's bake, run in a process of its own so it overlaps the VM tests.

    python -m tests.image.bake_job OUTPUT BUILD_KEY_DIR RESULT

Started by tests/image/conftest.py as soon as a session has collected a test
that needs the golden image; the `baked` fixture waits for it. A process, not
a thread: the bake reads FEBRUARY_SETTINGS_DIR (the canary settings), which
must not change the environment of the tests running meanwhile. On success it
writes RESULT, a JSON object with the image folder and the bake's seconds.

The base layer comes first, at full priority: the session's VM boots from it
too. The bake proper (Packer and its VM) then runs niced: it is needed only
after the VM tests, so the session's VM, on the critical path, gets the CPU
first and the bake the rest (the bake's pyinfra waits longer for the build
VM's SSH: images/packer/bake_config.py).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from images import oses
from images.base_image import base_image
from images.base_layer import BaseLayer
from images.pipeline import build

NICENESS = 10  # CPU weight 110 against 1024 for the session's VM (CFS)
# The lab's site: the hosts the tests converge are in group `vm` (group_data/vm.py), so is the image.
GROUPS = ("vm",)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    output, key_dir, result = (Path(arg) for arg in argv[1:])
    began = time.monotonic()
    base = base_image(BaseLayer.of(oses.DEFAULT))
    os.nice(NICENESS)
    folder = build(output, build_key_dir=key_dir, base=base, groups=GROUPS)
    result.write_text(json.dumps({"folder": str(folder), "seconds": round(time.monotonic() - began, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

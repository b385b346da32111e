"""The inventory groups a bake's build VM is in: inventory/bake.py's own, and the site's it joins."""

from __future__ import annotations

import re
from collections.abc import Iterable

# inventory/bake.py's own group, the Packer build VM's; the site's groups it also joins
# (images.pipeline.build(groups=...)) follow GROUP_NAME and are not this one.
BAKE_GROUP = "bake"
GROUP_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def check_bake_groups(groups: Iterable[str]) -> tuple[str, ...]:
    """The site's groups a bake joins, sorted and once each; ValueError names one that cannot be."""
    groups = tuple(groups)
    for group in groups:
        if not GROUP_NAME.fullmatch(group) or group == BAKE_GROUP:
            raise ValueError(
                f"bake group {group!r}: a group is named by lower-case letters, digits and _, "
                f"and is not {BAKE_GROUP!r} (the build VM's own group)"
            )
    return tuple(sorted(set(groups)))

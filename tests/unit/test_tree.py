"""A root tree's listing: content, mode, owner and links count; times do not."""

from __future__ import annotations

import os
from pathlib import Path

from images.tree import tree_digest, tree_listing


def test_the_listing_follows_content_mode_and_links_not_times(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hostname").write_text("mail\n")
    (tmp_path / "etc" / "localtime").symlink_to("/usr/share/zoneinfo/UTC")
    first = tree_listing(tmp_path)
    assert set(first) == {"/etc", "/etc/hostname", "/etc/localtime"}
    assert first["/etc/localtime"].endswith("-> /usr/share/zoneinfo/UTC")
    os.utime(tmp_path / "etc" / "hostname", (0, 0))
    assert tree_listing(tmp_path) == first
    (tmp_path / "etc" / "hostname").chmod(0o600)
    assert tree_listing(tmp_path)["/etc/hostname"] != first["/etc/hostname"]
    (tmp_path / "etc" / "hostname").chmod(0o644)
    (tmp_path / "etc" / "hostname").write_text("other\n")
    assert tree_digest(tree_listing(tmp_path)) != tree_digest(first)

"""Install a role's packages (the lists in ``pyinfra_deploys.packages``), refreshing apt lists only when something is missing."""

from __future__ import annotations

from collections.abc import Sequence

from pyinfra import host
from pyinfra.facts.deb import DebPackages
from pyinfra.operations import apt

from pyinfra_deploys.facts.once import read_once
from pyinfra_deploys.stamp import manage_packages


def install(role: str, packages: Sequence[str]) -> None:
    """apt-get install the role's packages.

    When every package is present (the usual case on the February image,
    whose package layer was built from these same lists) this asks nothing
    of the network and declares no operation; only a missing package
    triggers ``apt-get update``. The installed packages are read once per
    run (before any operation runs, as every fact is).
    """
    manage_packages(packages)
    missing = [name for name in packages if name not in read_once(DebPackages)]
    if not missing:
        host.noop(f"{role} packages are installed")
        return
    apt.packages(
        name=f"Install {role} packages",
        packages=list(packages),
        update=bool(missing),
        no_recommends=True,
    )

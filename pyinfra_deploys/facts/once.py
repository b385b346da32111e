"""A fact read once per run: as the host was before this run changed anything.

Every operation of a pyinfra run is prepared before the first one runs, so a
fact read twice while preparing reads the same state twice: one SSH round
trip each (about 0.3 s under emulation). The roles ask for some facts from
several operations (UFW's files, the installed packages).
"""

from __future__ import annotations

from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from pyinfra.api import FactBase
from pyinfra.context import ctx_host

T = TypeVar("T")

# Per host object (a new run, or a test's fake host, starts empty): (fact, arguments) -> value.
_read: WeakKeyDictionary[Any, dict[tuple[type[Any], tuple[tuple[str, Any], ...]], Any]] = WeakKeyDictionary()


def read_once(fact: type[FactBase[T]], **arguments: Any) -> T:
    """``host.get_fact(fact, **arguments)``, read once per host and arguments in this run."""
    current = ctx_host.get()
    seen = _read.setdefault(current, {})
    key = (fact, tuple(sorted(arguments.items())))
    if key not in seen:
        seen[key] = current.get_fact(fact, **arguments)
    value: T = seen[key]
    return value

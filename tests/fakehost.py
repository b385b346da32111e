"""The one stand-in for pyinfra's ``host`` in unit tests of our own operations: facts, noops, logs.

An operation is run by hand (``op._inner(...)``) under ``pyinfra.context.ctx_host.use(fake)``; it
asks facts from this host, which answers from ``facts`` (a fact class -> its value, or a function
of the fact's arguments) and records what was asked, logged and declared a no-op.
"""

from __future__ import annotations

import itertools
from typing import Any

_names = itertools.count()


class FakeHost:
    def __init__(self, facts: dict[type, Any] | None = None, name: str | None = None) -> None:
        # A name of its own: what our operations read once per run is kept per host name.
        self.name = name or f"fake-{next(_names)}"
        self.facts = dict(facts or {})
        self.asked: list[tuple[type, dict[str, Any]]] = []
        self.noops: list[str] = []
        self.logged: list[str] = []

    def get_fact(self, cls: type, *args: Any, **kwargs: Any) -> Any:
        assert not args, f"{cls.__name__} asked with positional arguments {args}"
        self.asked.append((cls, kwargs))
        assert cls in self.facts, f"unexpected fact {cls.__name__}({kwargs})"
        value = self.facts[cls]
        return value(**kwargs) if callable(value) else value

    def asked_for(self, cls: type) -> list[dict[str, Any]]:
        """The arguments of each time ``cls`` was asked, in order."""
        return [kwargs for asked, kwargs in self.asked if asked is cls]

    def noop(self, description: str) -> None:
        self.noops.append(description)

    @property
    def noop_description(self) -> str | None:
        return self.noops[-1] if self.noops else None

    def log(self, message: str, log_func: Any = None) -> None:
        self.logged.append(message)

    def get_temp_filename(self, key: str, temp_directory: str | None = None) -> str:
        return f"{temp_directory or '/tmp'}/pyinfra-{key.rsplit('/', 1)[-1]}"

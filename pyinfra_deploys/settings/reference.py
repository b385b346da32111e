"""The settings reference (docs/settings.md), generated from the model: names, types, allowed values, defaults, descriptions.

    python -m pyinfra_deploys.settings.reference > docs/settings.md

Nothing here is written by hand twice: the words for what a type admits are
the type's own ``Allowed`` marker (settings/types.py), a field's words are its
``Field(description=...)``, and tests/unit/test_settings_reference.py fails
when the committed file is not what this prints.
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from pyinfra_deploys.settings.model import Settings
from pyinfra_deploys.settings.types import Allowed, LocalFile

HEADER = """\
# Settings reference

Generated from `pyinfra_deploys/settings/model.py` by
`python -m pyinfra_deploys.settings.reference > docs/settings.md`; a unit
test fails when this file is stale. Do not edit it by hand.

A site sets what differs from these defaults in its `group_data/all.py`
(key `february`, a dict); an inventory group may layer overrides on top
(key `february_overrides`, merged key by key). Unknown keys are errors, and
every value is checked before anything connects: an error names the key and
says what is allowed. Secrets are never values, only paths to local files
(`*_file` keys) that are never committed.
"""


@dataclass(frozen=True)
class Row:
    key: str
    kind: str
    default: str
    description: str


def _markers(annotation: Any, metadata: list[Any]) -> list[Any]:
    found = list(metadata)
    if typing.get_origin(annotation) is typing.Annotated:
        found += list(annotation.__metadata__)
    return found


def _bare(annotation: Any) -> Any:
    return annotation.__origin__ if typing.get_origin(annotation) is typing.Annotated else annotation


def _optional(annotation: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _model(annotation: Any) -> type[BaseModel] | None:
    bare = _bare(annotation)
    return bare if isinstance(bare, type) and issubclass(bare, BaseModel) else None


def describe(annotation: Any, metadata: list[Any] | None = None) -> str:
    """A type and what it admits, in words."""
    markers = _markers(annotation, metadata or [])
    for marker in markers:
        if isinstance(marker, Allowed):
            return marker.text
        if isinstance(marker, LocalFile):
            return "path of a local file" + (", readable by its owner only (0600)" if marker.secret else "")
    bare = _bare(annotation)
    inner, optional = _optional(bare)
    if optional:
        return describe(inner) + ", or None"
    origin = typing.get_origin(bare)
    if origin is Literal:
        return "one of " + ", ".join(f"`{value!r}`" for value in typing.get_args(bare))
    if origin is list:
        (item,) = typing.get_args(bare)
        return f"a list of: {describe(item)}"
    if origin is dict:
        key, value = typing.get_args(bare)
        return f"a dict from {describe(key)} to {describe(value)}"
    if bare is bool:
        return "True or False"
    if bare is int:
        low = next((m.ge for m in markers if isinstance(m, annotated_types.Ge)), None)
        high = next((m.le for m in markers if isinstance(m, annotated_types.Le)), None)
        return f"an integer from {low} to {high}" if low is not None and high is not None else "an integer"
    if bare is str:
        return "text"
    model = _model(bare)
    if model is not None:
        return "settings of their own (below)"
    raise TypeError(f"no words for the settings type {bare!r}: give it an Allowed marker (settings/types.py)")


def default_of(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        return "(below)" if isinstance(value, BaseModel) else f"`{value!r}`"
    if field.default is PydanticUndefined:
        return "**required**"
    return f"`{field.default!r}`"


def rows(model: type[BaseModel], prefix: str = "") -> Iterator[Row]:
    for name, field in model.model_fields.items():
        yield Row(
            key=f"`{prefix}{name}`",
            kind=describe(field.annotation, field.metadata),
            default=default_of(field),
            description=(field.description or "").replace("|", "\\|"),
        )


def sections(model: type[BaseModel], prefix: str = "", title: str = "Top level") -> Iterator[tuple[str, str, list[Row]]]:
    """(title, the model's own words, rows) for ``model`` and, after it, every model nested in it."""
    yield title, (model.__doc__ or "").strip(), list(rows(model, prefix))
    for name, field in model.model_fields.items():
        inner, _ = _optional(_bare(field.annotation))
        if typing.get_origin(inner) is dict:
            _, value = typing.get_args(inner)
            nested, key = _model(value), f"{prefix}{name}.<key>."
        else:
            nested, key = _model(inner), f"{prefix}{name}."
        if nested is not None:
            yield from sections(nested, key, f"`{key.rstrip('.')}`")


def reference() -> str:
    out = [HEADER]
    for title, words, listed in sections(Settings):
        out += [f"## {title}", ""]
        if words:
            out += [" ".join(words.split()), ""]
        out += ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"]
        out += [f"| {r.key} | {r.kind} | {r.default} | {r.description} |" for r in listed]
        out.append("")
    return "\n".join(out)


DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"

if __name__ == "__main__":
    sys.stdout.write(reference())

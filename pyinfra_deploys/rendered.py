"""Defence in depth: a rendered file holds exactly the parameters its template declares.

The settings are validated so that no value can add a line, a comment or a
parameter to a file. This checks the result anyway, before anything reaches
a host: the parameters (and sections) of the rendered Postfix main.cf,
Dovecot dovecot.conf and Rspamd local.d/*.conf, *.inc are compared with the
ones the template SOURCE declares. A parameter outside any Jinja block must
appear exactly once; inside an ``{% if %}`` at most once; inside a
``{% for %}`` any number of times. Anything extra, duplicated, unknown or
unparsable raises RenderedFileError naming the file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from pyinfra_deploys import layout

Item = tuple[str, ...]  # a parameter's place: enclosing sections, then "=name" (or "{section", "+name" for a continuation)
Parser = Callable[[str], Iterator[tuple[int, Item]]]  # yields (line number, item)

WILDCARD = "\x00"  # stands for a Jinja expression in a template's section name
_WILD_VALUE = r"[A-Za-z0-9_.@-]+"
_BLOCK_LINE = re.compile(r"\s*\{%-?\s*(if|for|elif|else|endif|endfor)\b.*?-?%\}\s*")
_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_TAG = re.compile(r"\{%.*?%\}")
_EXPRESSION = re.compile(r"\{\{.*?\}\}")
_LAYOUT_NAME = re.compile(r"\{\{\s*layout\.([A-Z][A-Z0-9_]*)\s*\}\}")


class RenderedFileError(ValueError):
    """A rendered file does not have the shape its template declares."""


def _postfix(text: str) -> Iterator[tuple[int, Item]]:
    """main.cf: ``name = value`` lines; lines starting with whitespace continue the previous one."""
    current = None
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0] in " \t":
            if current is None:
                raise RenderedFileError(f"line {number}: a continuation line with no parameter before it")
            yield number, ("+" + current,)
            continue
        match = re.fullmatch(r"([A-Za-z0-9_]+)\s*=.*", line)
        if not match:
            raise RenderedFileError(f"line {number}: not a `name = value` line: {line!r}")
        current = match[1]
        yield number, ("=" + current,)


def _dovecot(text: str) -> Iterator[tuple[int, Item]]:
    """dovecot.conf: ``name = value`` lines and ``section [name] {`` ... ``}`` blocks."""
    sections: list[str] = []
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped == "}":
            if not sections:
                raise RenderedFileError(f"line {number}: '}}' closes no section")
            sections.pop()
        elif match := re.fullmatch(r"([A-Za-z0-9_]+)\s*=.*", stripped):
            yield number, (*sections, "=" + match[1])
        elif stripped.endswith("{"):
            header = " ".join(stripped[:-1].split())
            yield number, (*sections, "{" + header)
            sections.append(header)
        else:
            raise RenderedFileError(f"line {number}: not a setting or a section: {line!r}")
    if sections:
        raise RenderedFileError(f"section {sections[-1]!r} is not closed")


_UCL_TOKEN = re.compile(
    r"(?P<newline>\n)|(?P<space>[ \t\r]+)|(?P<comment>#[^\n]*|//[^\n]*|/\*.*?\*/)"
    r"|(?P<string>\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*')|(?P<punct>[{}\[\];=,:])|(?P<word>[^\s{}\[\];=,:\"'#]+)",
    re.S,
)


def _ucl(text: str) -> Iterator[tuple[int, Item]]:
    """Rspamd's UCL: ``key = value;`` (a newline also ends a value) and ``key ["name"] {`` ... ``}``."""
    sections: list[str] = []
    words: list[str] = []  # the key (and section arguments) being read
    start = 0
    in_value = False
    depth = 0  # [ ] nesting inside a value
    number, position = 1, 0
    while position < len(text):
        match = _UCL_TOKEN.match(text, position)
        if not match:
            raise RenderedFileError(f"line {number}: cannot read {text[position : position + 20]!r} (an unclosed string?)")
        kind, token = match.lastgroup, match[0]
        position = match.end()
        if kind == "newline":
            if in_value and depth == 0:
                in_value = False
            number += 1
            continue
        if kind in ("space", "comment"):
            number += token.count("\n")
            continue
        if in_value:
            if token == "[":
                depth += 1
            elif token == "]":
                depth -= 1
            elif token == ";" and depth == 0:
                in_value = False
            elif token == "{" and depth == 0:
                raise RenderedFileError(f"line {number}: a section inside a value")
            continue
        if token == "}":
            if words or not sections:
                raise RenderedFileError(f"line {number}: unexpected '}}'")
            sections.pop()
        elif token == ";" and not words:
            continue
        elif token in ("=", ":") and words:
            if len(words) != 1:
                raise RenderedFileError(f"line {number}: more than one word before '=': {words}")
            yield start, (*sections, "=" + words[0])
            words, in_value, depth = [], True, 0
        elif token == "{" and words:
            header = " ".join(words)
            yield start, (*sections, "{" + header)
            sections.append(header)
            words = []
        elif kind in ("word", "string"):
            if not words:
                start = number
            words.append(token.strip("\"'") if kind == "string" else token)
        else:
            raise RenderedFileError(f"line {number}: unexpected {token!r}")
    if words or sections:
        raise RenderedFileError("the file ends inside a statement or a section")


def parser_for(dest: str) -> Parser | None:
    """The parser of a target path's format; None for files not checked here."""
    if dest == layout.POSTFIX_MAIN_CF:
        return _postfix
    if dest == layout.DOVECOT_CONF:
        return _dovecot
    if dest.startswith(f"{layout.RSPAMD_LOCAL_D}/") and dest.endswith((".conf", ".inc")):
        return _ucl
    return None


def _layout_value(match: re.Match[str]) -> str:
    """A ``{{ layout.NAME }}`` expression is a constant path, not a value from the settings: its text, not a wildcard."""
    value = getattr(layout, match[1])
    if not isinstance(value, str):
        raise RenderedFileError(f"layout.{match[1]} is not a string")
    return value


def expected_items(source: str, parse: Parser) -> dict[Item, tuple[int, float]]:
    """What a template declares: each item with its (least, most) count in a rendered file."""
    multiplicity: dict[int, str] = {}
    blocks: list[str] = []
    lines = []
    source = _COMMENT.sub(lambda m: "\n" * m[0].count("\n"), source)
    for number, line in enumerate(source.split("\n"), 1):
        block = _BLOCK_LINE.fullmatch(line)
        if block:
            tag = block[1]
            if tag in ("if", "for"):
                blocks.append(tag)
            elif tag in ("endif", "endfor"):
                blocks.pop()
            lines.append("")
            continue
        multiplicity[number] = "any" if "for" in blocks else "optional" if blocks else "once"
        lines.append(_EXPRESSION.sub(WILDCARD, _TAG.sub("", _LAYOUT_NAME.sub(_layout_value, line))))
    expected: dict[Item, tuple[int, float]] = {}
    for number, item in parse("\n".join(lines)):
        kind = "any" if item[-1].startswith("+") else multiplicity[number]
        least, most = expected.get(item, (0, 1))
        expected[item] = (max(least, 1 if kind == "once" else 0), float("inf") if kind == "any" else most)
    return expected


def _matches(pattern: Item, item: Item) -> bool:
    if len(pattern) != len(item):
        return False
    for want, got in zip(pattern, item, strict=True):
        if WILDCARD in want:
            regex = "".join(_WILD_VALUE if part == WILDCARD else re.escape(part) for part in re.split(f"({WILDCARD})", want))
            if not re.fullmatch(regex, got):
                return False
        elif want != got:
            return False
    return True


def _show(item: Item) -> str:
    return " / ".join(part.lstrip("=+{") for part in item)


def check_rendered(dest: str, text: str, template: Path) -> None:
    """Raise RenderedFileError when ``text`` (rendered from ``template`` for ``dest``) has an
    extra, duplicated, unknown or missing parameter, or cannot be read."""
    parse = parser_for(dest)
    if parse is None:
        return
    try:
        expected = expected_items(template.read_text(), parse)
        counts: Counter[Item] = Counter()
        for number, item in parse(text):
            pattern = item if item in expected else next((p for p in expected if _matches(p, item)), None)
            if pattern is None:
                raise RenderedFileError(f"line {number}: {_show(item)!r} is not a parameter of its template")
            counts[pattern] += 1
            if counts[pattern] > expected[pattern][1]:
                raise RenderedFileError(f"line {number}: {_show(item)!r} appears more than once")
        missing = [_show(item) for item, (least, _) in expected.items() if counts[item] < least]
        if missing:
            raise RenderedFileError(f"missing {', '.join(missing)}")
    except RenderedFileError as error:
        raise RenderedFileError(f"{dest} (from {template.name}) was rendered wrong, nothing was uploaded: {error}") from None

"""Record filters: ``{"field", "op", "value"}`` leaves, joined by ``and`` or ``or`` lists.

Cloudomation documents ``eq``, ``like`` (SQL wildcards: ``%`` any run, ``_`` one character, ``\\``
escapes) and ``and``; ``ne`` and ``or`` are ours. A filter is parsed once into a small tree, then
either evaluated on a record's wire form (``matches``) or compiled to SQL (``to_sql``). ``like`` is
case sensitive in both, so the two backends answer alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from ._errors import InvalidFilterError

__all__ = [
    "And",
    "FieldKind",
    "Filter",
    "Leaf",
    "Or",
    "conjuncts",
    "like_prefix",
    "matches",
    "parse_filter",
    "prefix_end",
    "to_sql",
]

FieldKind = Literal["string", "int", "json", "time"]
"""``time`` fields are compared in their ISO-8601 wire form; ``json`` fields by JSON equality."""

_OPS = ("eq", "ne", "like")
_MAX_DEPTH = 16
_MAX_NODES = 256


@dataclass(frozen=True)
class Leaf:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class And:
    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Filter, ...]


Filter = Leaf | And | Or


def parse_filter(raw: str | Any, fields: Mapping[str, FieldKind]) -> Filter:
    """Parse a filter given as JSON text or as decoded JSON; raise ``InvalidFilterError``."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise InvalidFilterError(f"filter is not valid JSON: {exc}") from None
    counter = [0]
    return _parse(raw, fields, 0, counter)


def _parse(node: Any, fields: Mapping[str, FieldKind], depth: int, counter: list[int]) -> Filter:
    counter[0] += 1
    if depth > _MAX_DEPTH or counter[0] > _MAX_NODES:
        raise InvalidFilterError("filter is too deeply nested or too large")
    if not isinstance(node, dict):
        raise InvalidFilterError(
            'a filter is an object: {"field", "op", "value"}, {"and": [...]} or {"or": [...]}'
        )
    if set(node) in ({"and"}, {"or"}):
        key = next(iter(node))
        parts = node[key]
        if not isinstance(parts, list) or not parts:
            raise InvalidFilterError(f'"{key}" takes a non-empty list of filters')
        parsed = tuple(_parse(p, fields, depth + 1, counter) for p in parts)
        return And(parsed) if key == "and" else Or(parsed)
    if set(node) != {"field", "op", "value"}:
        raise InvalidFilterError(
            f'a filter leaf has exactly "field", "op" and "value"; got {sorted(node)}'
        )
    field, op, value = node["field"], node["op"], node["value"]
    if not isinstance(field, str) or field not in fields:
        raise InvalidFilterError(
            f"unknown filter field {field!r}; known fields: {', '.join(sorted(fields))}"
        )
    if op not in _OPS:
        raise InvalidFilterError(f"unknown filter op {op!r}; known ops: {', '.join(_OPS)}")
    kind = fields[field]
    if op == "like":
        if not isinstance(value, str):
            raise InvalidFilterError(f"'like' takes a string pattern, got {json.dumps(value)}")
        if kind == "int":
            raise InvalidFilterError(f"'like' does not apply to the number field {field!r}")
        if re.search(r"(?<!\\)(\\\\)*\\$", value):
            raise InvalidFilterError("a 'like' pattern cannot end in an unpaired escape '\\'")
    elif kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
        if value is not None:
            raise InvalidFilterError(f"field {field!r} holds integers, got {json.dumps(value)}")
    elif kind in ("string", "time") and value is not None and not isinstance(value, str):
        raise InvalidFilterError(f"field {field!r} holds strings, got {json.dumps(value)}")
    return Leaf(field, op, value)


@lru_cache(maxsize=256)
def _like_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _json_eq(a: Any, b: Any) -> bool:
    # JSON equality, not Python's: true is not 1, and key order does not matter.
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def matches(f: Filter, record: Mapping[str, Any]) -> bool:
    """Whether a record's wire form (a dict) passes the filter."""
    if isinstance(f, And):
        return all(matches(p, record) for p in f.parts)
    if isinstance(f, Or):
        return any(matches(p, record) for p in f.parts)
    actual = record.get(f.field)
    if f.op == "like":
        return isinstance(actual, str) and _like_regex(f.value).fullmatch(actual) is not None
    equal = _json_eq(actual, f.value)
    return equal if f.op == "eq" else not equal


def conjuncts(f: Filter) -> list[Leaf]:
    """The leaves every match must pass: ``f`` itself, or the leaves of its top-level ``and``."""
    if isinstance(f, Leaf):
        return [f]
    if isinstance(f, And):
        return [leaf for part in f.parts for leaf in conjuncts(part)]
    return []


def like_prefix(pattern: str) -> str:
    """The literal text every match of a ``like`` pattern starts with (up to its first wildcard)."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch in "%_":
            break
        out.append(next(chars, ch) if ch == "\\" else ch)
    return "".join(out)


def prefix_end(prefix: str) -> str | None:
    """The least text above every text that starts with ``prefix``; ``None`` if there is none.

    Code point order, which is SQLite's ``BINARY`` order of the UTF-8 bytes as well.
    """
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if code == 0xD800:
            code = 0xE000  # surrogates are no text: the next code point is past them
        if code <= 0x10FFFF:
            return "".join(chars) + chr(code)
    return None


def to_sql(
    f: Filter, columns: Mapping[str, str], *, like_index: bool = True
) -> tuple[str, list[Any]] | None:
    """Compile to a SQLite ``WHERE`` clause over ``columns``; ``None`` if a field has no column.

    ``like`` needs ``PRAGMA case_sensitive_like = ON`` on the connection to match ``matches``.
    ``like_index=False`` keeps SQLite from turning a ``like`` into an index range of its own (a
    caller that brings a tighter range, such as a cursor, wants SQLite to seek with that one).
    """
    if isinstance(f, And | Or):
        compiled = [to_sql(p, columns, like_index=like_index) for p in f.parts]
        if any(c is None for c in compiled):
            return None
        joiner = " AND " if isinstance(f, And) else " OR "
        params: list[Any] = []
        clauses = []
        for clause, ps in compiled:  # type: ignore[misc]
            clauses.append(f"({clause})")
            params.extend(ps)
        return joiner.join(clauses), params
    column = columns.get(f.field)
    if column is None:
        return None
    if f.op == "like":
        # A "+" makes the column an expression, which SQLite does not look up in an index.
        lhs = column if like_index else f"+{column}"
        return f"{lhs} LIKE ? ESCAPE '\\'", [f.value]
    return (f"{column} IS ?" if f.op == "eq" else f"{column} IS NOT ?"), [f.value]

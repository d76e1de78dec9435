"""The SQLite backend of the settings store (stdlib ``sqlite3``, WAL, one transaction per write).

With WAL and ``synchronous=NORMAL`` a committed write survives a killed process (only a power loss
could drop the last commits). Fencing tokens are reserved in blocks: the reservation is written
before a token of the block is issued, so after a restart the first token is above every token
issued before, at the cost of one small write per ``TOKEN_BLOCK`` acquisitions.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Sequence
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

from ._clock import Clock
from ._errors import ConflictError
from ._filters import Filter, conjuncts, like_prefix, matches, prefix_end, to_sql
from ._store import (
    DEFAULT_MAX_VALUE_BYTES,
    SETTING_FIELDS,
    Key,
    Order,
    Page,
    SettingRecord,
    SettingStore,
    comes_after,
    encode_cursor,
    iso,
    page_of,
)

__all__ = ["TOKEN_BLOCK", "SqliteStore"]

TOKEN_BLOCK = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS setting (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    value       TEXT NOT NULL,
    description TEXT,
    created_at  TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    created_ts  REAL NOT NULL,
    modified_ts REAL NOT NULL,
    version     INTEGER NOT NULL
);
-- (time, name): the time orders and their cursors read both columns from the index.
DROP INDEX IF EXISTS setting_created;
DROP INDEX IF EXISTS setting_modified;
CREATE INDEX IF NOT EXISTS setting_created_name ON setting (created_ts, name);
CREATE INDEX IF NOT EXISTS setting_modified_name ON setting (modified_ts, name);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

# Filterable fields that live in a column; "value" is compared in Python (JSON equality).
_COLUMNS = {
    "id": "id",
    "name": "name",
    "description": "description",
    "created_at": "created_at",
    "modified_at": "modified_at",
    "version": "version",
}
_ORDER_SQL = {
    "name": "name ASC",
    "-name": "name DESC",
    "created_at": "created_ts ASC, name ASC",
    "-created_at": "created_ts DESC, name DESC",
    "modified_at": "modified_ts ASC, name ASC",
    "-modified_at": "modified_ts DESC, name DESC",
}
# The sort key of each order as columns, and the rows after a cursor (row values compare in order).
_KEY_COLUMNS = {
    "name": "name",
    "-name": "name",
    "created_at": "created_ts, name",
    "-created_at": "created_ts, name",
    "modified_at": "modified_ts, name",
    "-modified_at": "modified_ts, name",
}
_AFTER_SQL = {
    "name": "name > ?",
    "-name": "name < ?",
    "created_at": "(created_ts, name) > (?, ?)",
    "-created_at": "(created_ts, name) < (?, ?)",
    "modified_at": "(modified_ts, name) > (?, ?)",
    "-modified_at": "(modified_ts, name) < (?, ?)",
}
# A setting's wire form, built by SQLite: the stored ISO text and the stored value JSON go out as
# they are, instead of through float -> datetime -> strftime and json.loads -> json.dumps per row.
_WIRE_SQL = {
    "id": "id",
    "name": "name",
    "value": "json(value)",
    "description": "description",
    "created_at": "created_at",
    "modified_at": "modified_at",
    "version": "version",
}
_SELECT = "SELECT id, name, value, description, created_ts, modified_ts, version FROM setting"
_INT64 = range(-(2**63), 2**63)
"""What a SQLite INTEGER holds; a bigger Python int raises ``OverflowError`` as a parameter."""


def _row(row: tuple[Any, ...]) -> SettingRecord:
    return SettingRecord(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5], row[6])


def _bindable(param: Any) -> bool:
    """Whether SQLite can take the parameter: a 64-bit integer, text without lone surrogates."""
    if isinstance(param, int):
        return param in _INT64
    if isinstance(param, str) and not param.isascii():
        try:
            param.encode()
        except UnicodeEncodeError:
            return False
    return True


def _name_range(flt: Filter | None, order: str, after: Key | None) -> tuple[list[str], list[str]]:
    """SQL bounds on ``name`` for the name orders, tightest first: the cursor, and the prefix
    of any ``like`` on the name that every match passes. SQLite seeks the name index with them.
    """
    low: tuple[str, bool] | None = None  # (text, inclusive)
    high: str | None = None  # exclusive
    for leaf in conjuncts(flt) if flt is not None else []:
        if leaf.field == "name" and leaf.op == "like" and (prefix := like_prefix(leaf.value)):
            if low is None or prefix > low[0]:
                low = (prefix, True)
            end = prefix_end(prefix)
            if end is not None and (high is None or end < high):
                high = end
    if after is not None:
        (name,) = after
        if order == "name" and (low is None or name >= low[0]):
            low = (name, False)
        elif order == "-name" and (high is None or name < high):
            high = name
    terms, params = [], []
    if low is not None:
        terms.append("name >= ?" if low[1] else "name > ?")
        params.append(low[0])
    if high is not None:
        terms.append("name < ?")
        params.append(high)
    return terms, params


@lru_cache(maxsize=64)
def _wire_sql(fields: tuple[str, ...]) -> str:
    """``json_object(...)`` of the fields (all of them when none are named), in their order."""
    pairs = ", ".join(f"'{f}', {_WIRE_SQL[f]}" for f in fields or tuple(SETTING_FIELDS))
    return f"json_object({pairs})"


def _has_json(db: sqlite3.Connection) -> bool:
    """Whether this SQLite has the JSON functions (built in since 3.38, optional before)."""
    try:
        db.execute("SELECT json_object('a', json('[1]'))").fetchone()
    except sqlite3.OperationalError:
        return False
    return True


class SqliteStore(SettingStore):
    """Settings in one SQLite file; survives restarts and killed processes."""

    def __init__(
        self,
        path: str | Path,
        clock: Clock,
        *,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        super().__init__(clock, max_value_bytes=max_value_bytes)
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA busy_timeout = 5000")
        # Keeps LIKE case sensitive, as the in-memory filter is.
        self._db.execute("PRAGMA case_sensitive_like = ON")
        self._db.executescript(_SCHEMA)
        row = self._db.execute("SELECT value FROM meta WHERE key = 'token_reserved'").fetchone()
        self._reserved = int(row[0]) if row else 0
        self._token = self._reserved
        self._json = _has_json(self._db)

    def close(self) -> None:
        self._db.close()

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        try:
            self._db.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"a setting with that name already exists ({exc})") from None

    def _by_id(self, setting_id: str) -> SettingRecord | None:
        row = self._db.execute(f"{_SELECT} WHERE id = ?", (setting_id,)).fetchone()
        return _row(row) if row else None

    def _by_name(self, name: str) -> SettingRecord | None:
        row = self._db.execute(f"{_SELECT} WHERE name = ?", (name,)).fetchone()
        return _row(row) if row else None

    def _insert(self, r: SettingRecord) -> None:
        self._write(
            "INSERT INTO setting VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.id,
                r.name,
                json.dumps(r.value, ensure_ascii=False),
                r.description,
                iso(r.created_at),
                iso(r.modified_at),
                r.created_at,
                r.modified_at,
                r.version,
            ),
        )

    def _replace(self, old: SettingRecord, new: SettingRecord) -> None:
        self._write(
            "UPDATE setting SET name = ?, value = ?, description = ?, modified_at = ?, "
            "modified_ts = ?, version = ? WHERE id = ?",
            (
                new.name,
                json.dumps(new.value, ensure_ascii=False),
                new.description,
                iso(new.modified_at),
                new.modified_at,
                new.version,
                old.id,
            ),
        )

    def _remove(self, record: SettingRecord) -> None:
        self._db.execute("DELETE FROM setting WHERE id = ?", (record.id,))

    @staticmethod
    def _where(flt: Filter | None, *, like_index: bool = True) -> tuple[str, list[Any]] | None:
        """The filter as SQL, or ``None`` when it must be tested in Python."""
        if flt is None:
            return "1", []
        compiled = to_sql(flt, _COLUMNS, like_index=like_index)
        if compiled is not None and not all(map(_bindable, compiled[1])):
            return None  # a value SQLite cannot hold: compare in Python, like "value"
        return compiled

    def _select(
        self, flt: Filter | None, order: Order, limit: int, offset: int
    ) -> tuple[list[SettingRecord], int]:
        compiled = self._where(flt)
        order_sql = _ORDER_SQL[order]
        if compiled is not None:
            offset = min(offset, _INT64[-1])  # past every row either way
            where, params = compiled
            total = self._db.execute(f"SELECT count(*) FROM setting WHERE {where}", params)
            count = int(total.fetchone()[0])
            rows = self._db.execute(
                f"{_SELECT} WHERE {where} ORDER BY {order_sql} LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
            return [_row(r) for r in rows], count
        # A filter on "value" (or on a huge number): scan in order, test each record in Python.
        assert flt is not None
        passing = [
            rec
            for rec in map(_row, self._db.execute(f"{_SELECT} ORDER BY {order_sql}"))
            if matches(flt, rec.wire())
        ]
        return passing[offset : offset + limit], len(passing)

    def _page(
        self,
        flt: Filter | None,
        order: Order,
        limit: int,
        offset: int,
        after: Key | None,
        count: bool,
        fields: Sequence[str] | None,
    ) -> Page:
        compiled = self._where(flt)
        if compiled is None or not self._json:
            return self._page_in_python(flt, order, limit, offset, after, count, fields)
        by_name = order.lstrip("-") == "name"
        # SQLite's own range for a "like" on the name is kept off where it would undo the
        # cursor: by name it seeks from the prefix, not the cursor (the bounds on the name are
        # given explicitly instead); by time it sorts every match again for each page, where
        # walking the time index from the cursor reads each row once over the whole listing.
        like_index = not by_name and after is None
        where, params = self._where(flt, like_index=like_index) or compiled
        if by_name:
            terms, bounds = _name_range(flt, order, after)
        elif after is not None:
            terms, bounds = [_AFTER_SQL[order]], list(after)
        else:
            terms, bounds = [], []
        where = " AND ".join([f"({where})", *terms])
        params = [*params, *bounds]
        # One row more than asked shows whether a next page exists, without counting.
        rows = self._db.execute(
            f"SELECT {_KEY_COLUMNS[order]}, {_wire_sql(tuple(fields or ()))} FROM setting "
            f"WHERE {where} ORDER BY {_ORDER_SQL[order]} LIMIT ? OFFSET ?",
            [*params, limit + 1, min(offset, _INT64[-1])],
        ).fetchall()
        total = None
        if count:
            where, params = compiled  # every match, not only those after the cursor
            found = self._db.execute(f"SELECT count(*) FROM setting WHERE {where}", params)
            total = int(found.fetchone()[0])
        more = len(rows) > limit and limit > 0
        del rows[limit:]
        after_last = encode_cursor(order, rows[-1][:-1]) if more else None
        return Page([r[-1] for r in rows], total, after_last)

    def _page_in_python(
        self,
        flt: Filter | None,
        order: Order,
        limit: int,
        offset: int,
        after: Key | None,
        count: bool,
        fields: Sequence[str] | None,
    ) -> Page:
        """A page of a filter SQL cannot test (on "value", a huge number, a lone surrogate), or
        of a SQLite without JSON functions: records in order, each tested in Python."""
        sql, params = f"{_SELECT} ORDER BY {_ORDER_SQL[order]}", []
        if after is not None and not count:
            # No count: read from the cursor on and stop once the page is full.
            sql = f"{_SELECT} WHERE {_AFTER_SQL[order]} ORDER BY {_ORDER_SQL[order]}"
            params = list(after)
        records = map(_row, self._db.execute(sql, params))
        passing = (r for r in records if flt is None or matches(flt, r.wire()))
        if not count:
            start = min(offset, sys.maxsize)
            window = list(islice(passing, start, min(start + limit + 1, sys.maxsize)))
            return page_of(window, order, limit, None, fields)
        every = list(passing)
        later = every if after is None else list(filter(comes_after(order, after), every))
        return page_of(later[offset : offset + limit + 1], order, limit, len(every), fields)

    def _issue_token(self) -> int:
        if self._token >= self._reserved:
            self._reserved = self._token + TOKEN_BLOCK
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('token_reserved', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (self._reserved,),
            )
        self._token += 1
        return self._token

    def _clear(self) -> None:
        self._db.execute("DELETE FROM setting")

"""The SQLite backend of the settings store (stdlib ``sqlite3``, WAL, one transaction per write).

With WAL and ``synchronous=NORMAL`` a committed write survives a killed process (only a power loss
could drop the last commits). Fencing tokens are reserved in blocks: the reservation is written
before a token of the block is issued, so after a restart the first token is above every token
issued before, at the cost of one small write per ``TOKEN_BLOCK`` acquisitions.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from ._clock import Clock
from ._errors import ConflictError
from ._filters import Filter, matches, to_sql
from ._store import DEFAULT_MAX_VALUE_BYTES, Order, SettingRecord, SettingStore, iso

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
CREATE INDEX IF NOT EXISTS setting_created ON setting (created_ts);
CREATE INDEX IF NOT EXISTS setting_modified ON setting (modified_ts);
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
_SELECT = "SELECT id, name, value, description, created_ts, modified_ts, version FROM setting"
_INT64 = range(-(2**63), 2**63)
"""What a SQLite INTEGER holds; a bigger Python int raises ``OverflowError`` as a parameter."""


def _row(row: tuple[Any, ...]) -> SettingRecord:
    return SettingRecord(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5], row[6])


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

    def _select(
        self, flt: Filter | None, order: Order, limit: int, offset: int
    ) -> tuple[list[SettingRecord], int]:
        compiled = to_sql(flt, _COLUMNS) if flt is not None else ("1", [])
        if compiled is not None and any(
            isinstance(p, int) and p not in _INT64 for p in compiled[1]
        ):
            compiled = None  # a number SQLite cannot hold: compare in Python, like "value"
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

"""The settings store: one interface, an in-memory and a SQLite backend (``_sqlite.py``).

The store holds the rules of settings (names, values, versions, limits) and knows nothing of HTTP.
``SettingStore`` does the checks once; a backend only keeps records and issues fencing tokens.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import threading
import time
import unicodedata
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ._clock import Clock
from ._errors import (
    ConflictError,
    InvalidRequestError,
    PreconditionFailed,
    ResourceNotFoundError,
    ValidationError,
    ValueTooLargeError,
)
from ._filters import FieldKind, Filter, matches

__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "MAX_CURSOR_LENGTH",
    "MAX_NAME_LENGTH",
    "ORDERS",
    "SETTING_FIELDS",
    "Key",
    "MemoryStore",
    "Page",
    "SettingRecord",
    "SettingStore",
    "comes_after",
    "decode_cursor",
    "encode_cursor",
    "iso",
    "normalize_name",
    "page_of",
    "record_key",
]

DEFAULT_MAX_VALUE_BYTES = 1024 * 1024
MAX_NAME_LENGTH = 512
MAX_DESCRIPTION_LENGTH = 64 * 1024

SETTING_FIELDS: dict[str, FieldKind] = {
    "id": "string",
    "name": "string",
    "value": "json",
    "description": "string",
    "created_at": "time",
    "modified_at": "time",
    "version": "int",
}
ORDERS = ("name", "-name", "created_at", "-created_at", "modified_at", "-modified_at")
Order = Literal["name", "-name", "created_at", "-created_at", "modified_at", "-modified_at"]

_UNSET: Any = object()

MAX_CURSOR_LENGTH = 4096
"""Longest ``after`` cursor accepted: a 512-character name in UTF-8, base64-coded, fits."""


def iso(t: float) -> str:
    """Epoch seconds as the wire's ISO-8601 form (UTC, microseconds, ``Z``): sorts as text.

    The same text as ``datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")``, with
    the microseconds rounded as it rounds them (half to even), at a quarter of its cost: every
    lock answer carries several times, and consecutive ones share the whole second.
    """
    frac, whole = math.modf(t)
    micros = round(frac * 1e6)
    if micros >= 1_000_000:
        whole, micros = whole + 1.0, micros - 1_000_000
    elif micros < 0:
        whole, micros = whole - 1.0, micros + 1_000_000
    return f"{_iso_second(int(whole))}.{micros:06d}Z"


@functools.lru_cache(maxsize=16)
def _iso_second(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def normalize_name(name: object) -> str:
    """Strip outer blanks (as Cloudomation does) and refuse names no one could address."""
    if not isinstance(name, str):
        raise ValidationError("name must be a string")
    stripped = name.strip()
    if not stripped:
        raise ValidationError("name must not be empty or only blanks")
    if len(stripped) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"name is {len(stripped)} characters long; the limit is {MAX_NAME_LENGTH}"
        )
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in stripped):
        raise ValidationError("name must not contain control characters")
    return stripped


def _is_uuid(key: str) -> bool:
    try:
        uuid.UUID(key)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class SettingRecord:
    id: str
    name: str
    value: Any
    description: str | None
    created_at: float
    modified_at: float
    version: int

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "value": self.value,
            "description": self.description,
            "created_at": iso(self.created_at),
            "modified_at": iso(self.modified_at),
            "version": self.version,
        }


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing: each setting already as its (projected) wire JSON text."""

    rows: list[str]
    total: int | None
    """How many settings pass the filter in all; ``None`` when not counted."""
    next: str | None
    """The cursor of the last row when more rows follow it, else ``None``."""


Key = tuple[Any, ...]
"""Where a setting sorts in an order: ``(name,)``, or ``(time, name)`` for the time orders."""


def record_key(record: SettingRecord, order: str) -> Key:
    """The sort key of a record in ``order`` (read ascending; a ``-`` order walks it down)."""
    field = order.lstrip("-")
    return (record.name,) if field == "name" else (getattr(record, field), record.name)


def encode_cursor(order: str, key: Key) -> str:
    """An opaque ``after`` cursor: the order and the sort key of the last row, as base64url."""
    raw = json.dumps([order, *key], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, order: str) -> Key:
    """The sort key in an ``after`` cursor; ``InvalidRequestError`` unless this order's cursor."""
    bad = InvalidRequestError("after: not a cursor this server gave out (use a page's 'next')")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise bad
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
    except (ValueError, binascii.Error, RecursionError):
        raise bad from None
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        raise bad
    if data[0] != order:
        raise InvalidRequestError(
            f"after: the cursor is for order {data[0]!r}, not {order!r}; "
            "keep the order of the listing it came from"
        )
    *head, name = data[1:] or [None]
    if not isinstance(name, str) or len(head) != (0 if order.lstrip("-") == "name" else 1):
        raise bad
    try:
        name.encode()  # no lone surrogates: no setting has them, and SQLite cannot take them
    except UnicodeEncodeError:
        raise bad from None
    if not head:
        return (name,)
    moment = head[0]
    if isinstance(moment, bool) or not isinstance(moment, int | float):
        raise bad
    try:
        moment = float(moment)
    except OverflowError:
        raise bad from None
    if not math.isfinite(moment):
        raise bad
    return (moment, name)


def comes_after(order: str, key: Key) -> Callable[[SettingRecord], bool]:
    """Whether a record comes after ``key`` in ``order``."""
    if order.startswith("-"):
        return lambda r: record_key(r, order) < key
    return lambda r: record_key(r, order) > key


def _wire_json(record: SettingRecord, fields: Sequence[str] | None) -> str:
    wire = record.wire()
    if fields:
        wire = {f: wire[f] for f in fields}
    # As the server's JSON answers are written: compact, UTF-8 left as is.
    return json.dumps(wire, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def page_of(
    window: Sequence[SettingRecord],
    order: str,
    limit: int,
    total: int | None,
    fields: Sequence[str] | None,
) -> Page:
    """The page of the first ``limit`` records of ``window`` (one more shows that more follow)."""
    rows = window[:limit]
    more = len(window) > limit and limit > 0
    after = encode_cursor(order, record_key(rows[-1], order)) if more else None
    return Page([_wire_json(r, fields) for r in rows], total, after)


class SettingStore(ABC):
    """Settings with unique names, whole-value writes, versions and fencing tokens.

    Every public method is atomic: a threading lock serialises them, so the store may be shared
    by the server's event loop and a test's thread.
    """

    def __init__(self, clock: Clock, *, max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES) -> None:
        self.clock = clock
        self.max_value_bytes = max_value_bytes
        self._mutex = threading.RLock()

    # -- what a backend provides ---------------------------------------------------------------

    @abstractmethod
    def _by_id(self, setting_id: str) -> SettingRecord | None: ...

    @abstractmethod
    def _by_name(self, name: str) -> SettingRecord | None: ...

    @abstractmethod
    def _insert(self, record: SettingRecord) -> None: ...

    @abstractmethod
    def _replace(self, old: SettingRecord, new: SettingRecord) -> None: ...

    @abstractmethod
    def _remove(self, record: SettingRecord) -> None: ...

    @abstractmethod
    def _select(
        self, flt: Filter | None, order: Order, limit: int, offset: int
    ) -> tuple[list[SettingRecord], int]: ...

    @abstractmethod
    def _page(
        self,
        flt: Filter | None,
        order: Order,
        limit: int,
        offset: int,
        after: Key | None,
        count: bool,
        fields: Sequence[str] | None,
    ) -> Page: ...

    @abstractmethod
    def _issue_token(self) -> int: ...

    @abstractmethod
    def _clear(self) -> None: ...

    def close(self) -> None:  # noqa: B027 (a backend without resources needs nothing here)
        """Release the backend's resources."""

    # -- the rules -----------------------------------------------------------------------------

    def _check_value(self, value: Any) -> None:
        try:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            size = len(text.encode())
        except (TypeError, ValueError, RecursionError, UnicodeEncodeError) as exc:
            raise ValidationError(f"value is not JSON: {exc}") from None
        if size > self.max_value_bytes:
            raise ValueTooLargeError(
                f"value is {size} bytes as JSON; the limit is {self.max_value_bytes} bytes"
            )

    @staticmethod
    def _check_description(description: object) -> None:
        if description is not None and not isinstance(description, str):
            raise ValidationError("description must be a string or null")
        if isinstance(description, str) and len(description) > MAX_DESCRIPTION_LENGTH:
            raise ValidationError(f"description is longer than {MAX_DESCRIPTION_LENGTH} characters")

    def _lookup(self, key: str, *, by_name: bool) -> SettingRecord:
        if by_name:
            name = key.strip()
            record = self._by_name(name) if name else None
            if record is None:
                raise ResourceNotFoundError(f"setting {name!r} not found")
            return record
        record = self._by_id(key) if _is_uuid(key) else None
        if record is None:
            hint = "" if _is_uuid(key) else " (to address a setting by name, add ?by=name)"
            raise ResourceNotFoundError(f"setting with id {key!r} not found{hint}")
        return record

    def create(
        self, name: object, value: Any = None, description: str | None = None
    ) -> SettingRecord:
        """Create a setting; a taken name is a ``ConflictError``."""
        clean = normalize_name(name)
        self._check_value(value)
        self._check_description(description)
        with self._mutex:
            if self._by_name(clean) is not None:
                raise ConflictError(f"a setting named {clean!r} already exists")
            now = self.clock.now()
            record = SettingRecord(str(uuid.uuid4()), clean, value, description, now, now, 1)
            self._insert(record)
            return record

    def get(self, key: str, *, by_name: bool = False) -> SettingRecord:
        with self._mutex:
            return self._lookup(key, by_name=by_name)

    def find(self, name: str) -> SettingRecord | None:
        with self._mutex:
            return self._by_name(name.strip())

    def get_or_create(self, name: object) -> tuple[SettingRecord, bool]:
        """The setting of that name, created with a ``null`` value if missing."""
        clean = normalize_name(name)
        with self._mutex:
            record = self._by_name(clean)
            if record is not None:
                return record, False
            return self.create(clean), True

    def update(
        self,
        key: str,
        *,
        by_name: bool = False,
        name: Any = _UNSET,
        value: Any = _UNSET,
        description: Any = _UNSET,
        if_version: int | None = None,
    ) -> SettingRecord:
        """Change the fields given; every write bumps the version by one."""
        changes: dict[str, Any] = {}
        if name is not _UNSET:
            changes["name"] = normalize_name(name)
        if value is not _UNSET:
            self._check_value(value)
            changes["value"] = value
        if description is not _UNSET:
            self._check_description(description)
            changes["description"] = description
        with self._mutex:
            old = self._lookup(key, by_name=by_name)
            self.check_version(old, if_version)
            if not changes:
                return old  # nothing to write: no new version
            new_name = changes.get("name", old.name)
            if new_name != old.name and self._by_name(new_name) is not None:
                raise ConflictError(f"a setting named {new_name!r} already exists")
            new = replace(old, **changes, modified_at=self.clock.now(), version=old.version + 1)
            self._replace(old, new)
            return new

    def delete(
        self, key: str, *, by_name: bool = False, if_version: int | None = None
    ) -> SettingRecord:
        with self._mutex:
            old = self._lookup(key, by_name=by_name)
            self.check_version(old, if_version)
            self._remove(old)
            return old

    @staticmethod
    def check_version(record: SettingRecord, if_version: int | None) -> None:
        """Raise ``PreconditionFailed`` unless ``if_version`` is ``None`` or the version."""
        if if_version is not None and if_version != record.version:
            raise PreconditionFailed(
                f"setting {record.name!r} is at version {record.version}, not {if_version}: "
                "it changed since you read it"
            )

    def list(
        self,
        flt: Filter | None = None,
        *,
        order: Order = "name",
        limit: int = 1000,
        offset: int = 0,
    ) -> tuple[list[SettingRecord], int]:
        """One page of the settings that pass the filter, and how many pass in all."""
        if order not in ORDERS:
            raise InvalidRequestError(f"unknown order {order!r}; use one of {', '.join(ORDERS)}")
        if limit < 0 or offset < 0:
            raise InvalidRequestError("limit and offset must not be negative")
        with self._mutex:
            return self._select(flt, order, limit, offset)

    def page(
        self,
        flt: Filter | None = None,
        *,
        order: Order = "name",
        limit: int = 1000,
        offset: int = 0,
        after: str | None = None,
        count: bool = True,
        fields: Sequence[str] | None = None,
    ) -> Page:
        """One page of the settings that pass the filter, as wire JSON, for ``GET /setting``.

        ``after`` (a ``next`` cursor from an earlier page) starts the page right after that
        setting, however many settings come before it: keyset paging, so a walk through every
        page costs each row once. ``count`` counts every setting that passes for ``total``.
        ``fields`` projects each row (known field names, as ``parse_fields`` checked them).
        """
        if order not in ORDERS:
            raise InvalidRequestError(f"unknown order {order!r}; use one of {', '.join(ORDERS)}")
        if limit < 0 or offset < 0:
            raise InvalidRequestError("limit and offset must not be negative")
        key = None
        if after is not None:
            if offset:
                raise InvalidRequestError(
                    "after and offset do not go together: a cursor already says where to start"
                )
            key = decode_cursor(after, order)
        wanted = list(dict.fromkeys(fields)) if fields else None
        with self._mutex:
            return self._page(flt, order, limit, offset, key, count, wanted)

    def next_token(self) -> int:
        """A fencing token larger than every token issued before, also before a restart."""
        with self._mutex:
            return self._issue_token()

    def reset(self) -> None:
        """Forget every setting (test helper); tokens keep growing."""
        with self._mutex:
            self._clear()


def _sort_key(order: str) -> tuple[str, bool]:
    return order.lstrip("-"), order.startswith("-")


def order_records(records: Iterable[SettingRecord], order: str) -> list[SettingRecord]:
    field, descending = _sort_key(order)
    if field == "name":
        return sorted(records, key=lambda r: r.name, reverse=descending)
    return sorted(records, key=lambda r: (getattr(r, field), r.name), reverse=descending)


class MemoryStore(SettingStore):
    """Settings in dictionaries; gone when the process ends."""

    def __init__(self, clock: Clock, *, max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES) -> None:
        super().__init__(clock, max_value_bytes=max_value_bytes)
        self._ids: dict[str, SettingRecord] = {}
        self._names: dict[str, SettingRecord] = {}
        self._token = 0

    def _by_id(self, setting_id: str) -> SettingRecord | None:
        return self._ids.get(setting_id)

    def _by_name(self, name: str) -> SettingRecord | None:
        return self._names.get(name)

    def _insert(self, record: SettingRecord) -> None:
        self._ids[record.id] = record
        self._names[record.name] = record

    def _replace(self, old: SettingRecord, new: SettingRecord) -> None:
        del self._names[old.name]
        self._ids[new.id] = new
        self._names[new.name] = new

    def _remove(self, record: SettingRecord) -> None:
        del self._ids[record.id]
        del self._names[record.name]

    def _select(
        self, flt: Filter | None, order: Order, limit: int, offset: int
    ) -> tuple[list[SettingRecord], int]:
        records: Iterable[SettingRecord] = self._names.values()
        if flt is not None:
            records = [r for r in records if matches(flt, r.wire())]
        ordered = order_records(records, order)
        return ordered[offset : offset + limit], len(ordered)

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
        passing = [r for r in self._names.values() if flt is None or matches(flt, r.wire())]
        total = len(passing) if count else None
        if after is not None:
            passing = list(filter(comes_after(order, after), passing))
        window = order_records(passing, order)[offset : offset + limit + 1]
        return page_of(window, order, limit, total, fields)

    def _issue_token(self) -> int:
        self._token += 1
        return self._token

    def _clear(self) -> None:
        self._ids.clear()
        self._names.clear()

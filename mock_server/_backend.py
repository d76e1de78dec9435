"""The backend: the store, the lock manager and the event log, composed (moto's ``models.py``).

Each public method is one operation a router calls once: it applies the rules that span parts
(a fenced write checks the lock, a delete refuses a locked setting) and publishes the event.
Nothing here knows of HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._clock import Clock
from ._errors import InvalidRequestError
from ._events import EventLog
from ._filters import parse_filter
from ._locks import EXECUTION_FIELDS, ExecutionState, LockManager
from ._store import ORDERS, SETTING_FIELDS, Order, Page, SettingRecord, SettingStore

__all__ = ["Backend", "project"]

_UNSET: Any = object()


def project(record: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    """Keep only the named fields of a wire record (``fields=a,b``)."""
    if not fields:
        return record
    return {f: record[f] for f in fields if f in record}


def parse_fields(raw: str | None, known: dict[str, Any]) -> list[str] | None:
    """Parse ``fields=a,b``; an unknown field name is an ``InvalidRequestError``."""
    if raw is None or not raw.strip():
        return None
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise InvalidRequestError(
            f"unknown field(s) {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
        )
    return fields


class Backend:
    """All state of one server: settings, locks, executions and the event log."""

    def __init__(self, store: SettingStore, clock: Clock, **lock_options: Any) -> None:
        self.store = store
        self.clock = clock
        self.events = EventLog(clock)
        self.locks = LockManager(store, self.events, clock, **lock_options)

    # -- settings --------------------------------------------------------------------------------

    def create_setting(
        self, name: Any, value: Any = None, description: str | None = None
    ) -> SettingRecord:
        record = self.store.create(name, value, description)
        self.events.publish(
            "setting.created", id=record.id, name=record.name, version=record.version
        )
        return record

    def get_setting(self, key: str, *, by_name: bool = False) -> SettingRecord:
        return self.store.get(key, by_name=by_name)

    def list_settings(
        self,
        filter_json: str | None = None,
        *,
        order: str = "name",
        limit: int = 1000,
        offset: int = 0,
        after: str | None = None,
        count: bool | None = None,
        fields: Sequence[str] | None = None,
    ) -> Page:
        """One page of ``GET /setting``, its rows as wire JSON.

        ``count`` defaults to counting on a first page (no ``after``) and not on the pages a
        cursor leads to, so a client walking every page pays for one count.
        """
        flt = parse_filter(filter_json, SETTING_FIELDS) if filter_json else None
        if order not in ORDERS:
            raise InvalidRequestError(f"unknown order {order!r}; use one of {', '.join(ORDERS)}")
        o: Order = order  # type: ignore[assignment]
        counted = after is None if count is None else count
        return self.store.page(
            flt, order=o, limit=limit, offset=offset, after=after, count=counted, fields=fields
        )

    def update_setting(
        self,
        key: str,
        *,
        by_name: bool = False,
        changes: dict[str, Any],
        if_version: int | None = None,
        fence: int | None = None,
    ) -> SettingRecord:
        """Change the given fields; ``fence`` must be the token that holds the setting's lock."""
        if fence is not None:
            self.locks.check_fence(self.store.get(key, by_name=by_name).id, fence)
        record = self.store.update(key, by_name=by_name, if_version=if_version, **changes)
        if not changes:
            return record  # an empty PATCH writes nothing and publishes nothing
        if "name" in changes:
            self.locks.renamed(record.id, record.name)
        self.events.publish(
            "setting.updated",
            id=record.id,
            name=record.name,
            version=record.version,
            fields=sorted(changes),
        )
        return record

    def delete_setting(
        self,
        key: str,
        *,
        by_name: bool = False,
        if_version: int | None = None,
        fence: int | None = None,
    ) -> SettingRecord:
        """Delete a setting; a held or waited-for lock on it must be released first."""
        current = self.store.get(key, by_name=by_name)
        # Every check before the lock is touched: a refused delete must leave the lock held.
        self.store.check_version(current, if_version)
        self.locks.prepare_delete(current.id, fence)
        record = self.store.delete(key, by_name=by_name, if_version=if_version)
        self.locks.forget(record.id)
        self.events.publish(
            "setting.deleted", id=record.id, name=record.name, version=record.version
        )
        return record

    # -- executions ------------------------------------------------------------------------------

    def list_executions(self, filter_json: str | None = None) -> list[ExecutionState]:
        flt = parse_filter(filter_json, EXECUTION_FIELDS) if filter_json else None
        return self.locks.executions(flt)

    # -- test helpers ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to an empty server (fencing tokens and event numbers keep growing)."""
        self.locks.reset()
        self.store.reset()
        self.events.reset()

    def dump(self) -> dict[str, Any]:
        """Everything, as JSON-ready data: for tests that assert on the server's state."""
        settings, _ = self.store.list(limit=10**9)
        return {
            "now": self.clock.now(),
            "settings": [s.wire() for s in settings],
            "locks": self.locks.locks_wire(),
            "executions": [self.locks.execution_wire(e) for e in self.locks.executions()],
            "last_event": self.events.last_seq,
        }

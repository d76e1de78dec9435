"""The settings store: both backends answer alike (rules, filters, paging, tokens)."""

from __future__ import annotations

import math
import random
import sqlite3
from datetime import UTC, datetime

import pytest

from mock_server import ManualClock, MemoryStore, SettingStore, SqliteStore
from mock_server._errors import (
    ConflictError,
    InvalidFilterError,
    InvalidRequestError,
    PreconditionFailed,
    ResourceNotFoundError,
    ValidationError,
    ValueTooLargeError,
)
from mock_server._filters import parse_filter
from mock_server._sqlite import TOKEN_BLOCK
from mock_server._store import SETTING_FIELDS, iso


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["memory", "sqlite"])
def store(request, clock, tmp_path) -> SettingStore:
    if request.param == "memory":
        return MemoryStore(clock, max_value_bytes=1024)
    s = SqliteStore(tmp_path / "s.db", clock, max_value_bytes=1024)
    request.addfinalizer(s.close)
    return s


def f(raw: object):
    return parse_filter(raw, SETTING_FIELDS)


def names(store: SettingStore, flt=None, **kw) -> list[str]:
    records, _ = store.list(flt, **kw)
    return [r.name for r in records]


@pytest.mark.parametrize(
    "value", [{"a": [1, 2.5, None]}, [1, "two"], "text", 42, 3.25, True, False, None, {}]
)
def test_any_json_value_round_trips(store, value):
    created = store.create("s", value)
    assert store.get(created.id).value == value
    assert store.get("s", by_name=True).value == value


def test_names_lose_outer_blanks_and_are_unique(store):
    rec = store.create("  padded \t", 1)
    assert rec.name == "padded"
    assert store.get(" padded ", by_name=True).id == rec.id
    with pytest.raises(ConflictError, match="already exists"):
        store.create("padded", 2)


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b", "tab\x07", "x" * 513, 5, None])
def test_unaddressable_names_are_refused(store, bad):
    with pytest.raises(ValidationError):
        store.create(bad, 1)
    assert store.list()[1] == 0


def test_every_write_bumps_the_version(store, clock):
    rec = store.create("s", 1, "first")
    assert rec.version == 1
    clock.advance(1)
    rec2 = store.update(rec.id, value=2)
    assert (rec2.version, rec2.value, rec2.description) == (2, 2, "first")
    assert rec2.modified_at == rec.modified_at + 1 and rec2.created_at == rec.created_at
    rec3 = store.update("s", by_name=True, description=None)
    assert rec3.version == 3 and rec3.description is None and rec3.value == 2


def test_if_version_refuses_a_changed_setting(store):
    rec = store.create("s", 1)
    store.update(rec.id, value=2, if_version=1)
    with pytest.raises(PreconditionFailed, match="version 2, not 1"):
        store.update(rec.id, value=3, if_version=1)
    with pytest.raises(PreconditionFailed):
        store.delete(rec.id, if_version=1)
    assert store.get(rec.id).value == 2


def test_rename_keeps_names_unique(store):
    store.create("a", 1)
    b = store.create("b", 2)
    with pytest.raises(ConflictError):
        store.update(b.id, name="a")
    assert store.update(b.id, name=" c ").name == "c"
    assert store.find("b") is None and store.get("c", by_name=True).value == 2


def test_not_found_by_id_and_by_name(store):
    with pytest.raises(ResourceNotFoundError, match="by=name"):
        store.get("some-name")
    with pytest.raises(ResourceNotFoundError):
        store.get("00000000-0000-0000-0000-000000000000")
    with pytest.raises(ResourceNotFoundError):
        store.get("nope", by_name=True)


def test_value_size_limit(store):
    store.create("ok", "x" * 1000)
    with pytest.raises(ValueTooLargeError, match="limit is 1024"):
        store.create("big", "x" * 2000)
    with pytest.raises(ValueTooLargeError):
        store.update("ok", by_name=True, value="x" * 2000)
    assert store.find("big") is None
    assert store.get("ok", by_name=True).value == "x" * 1000


def test_delete(store):
    rec = store.create("s", 1)
    store.delete("s", by_name=True)
    with pytest.raises(ResourceNotFoundError):
        store.get(rec.id)
    store.create("s", 2)  # the name is free again


@pytest.fixture
def seeded(store, clock):
    for _i, (name, value, desc) in enumerate(
        [
            ("app.db.host", "db1", "database"),
            ("app.db.port", 5432, None),
            ("app.web", {"port": 80}, "web"),
            ("App.upper", "X", None),
            ("cloud-vm-lock", None, None),
            ("under_score", True, None),
        ]
    ):
        clock.advance(1)
        store.create(name, value, desc)
    return store


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (
            {"field": "name", "op": "like", "value": "app.%"},
            ["app.db.host", "app.db.port", "app.web"],
        ),
        ({"field": "name", "op": "like", "value": "%.db.%"}, ["app.db.host", "app.db.port"]),
        ({"field": "name", "op": "like", "value": "APP%"}, []),  # case sensitive
        ({"field": "name", "op": "like", "value": "under\\_score"}, ["under_score"]),
        ({"field": "name", "op": "like", "value": "app.we_"}, ["app.web"]),
        ({"field": "name", "op": "eq", "value": "app.web"}, ["app.web"]),
        (
            {"field": "description", "op": "eq", "value": None},
            ["App.upper", "app.db.port", "cloud-vm-lock", "under_score"],
        ),
        ({"field": "value", "op": "eq", "value": {"port": 80}}, ["app.web"]),
        ({"field": "value", "op": "eq", "value": 1}, []),  # true is not 1
        ({"field": "value", "op": "eq", "value": True}, ["under_score"]),
        ({"field": "value", "op": "like", "value": "db%"}, ["app.db.host"]),
        (
            {"field": "version", "op": "eq", "value": 1},
            ["App.upper", "app.db.host", "app.db.port", "app.web", "cloud-vm-lock", "under_score"],
        ),
        (
            {
                "and": [
                    {"field": "name", "op": "like", "value": "app%"},
                    {"field": "description", "op": "ne", "value": None},
                ]
            },
            ["app.db.host", "app.web"],
        ),
        (
            {
                "or": [
                    {"field": "name", "op": "eq", "value": "app.web"},
                    {"field": "value", "op": "eq", "value": None},
                ]
            },
            ["app.web", "cloud-vm-lock"],
        ),
    ],
)
def test_filters_answer_alike_on_both_backends(seeded, flt, expected):
    assert names(seeded, f(flt)) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "{not json",
        "[]",
        {"field": "nope", "op": "eq", "value": 1},
        {"field": "name", "op": "gt", "value": "a"},
        {"field": "name", "op": "like", "value": 5},
        {"field": "version", "op": "like", "value": "1%"},
        {"field": "version", "op": "eq", "value": "1"},
        {"field": "name", "op": "eq"},
        {"and": []},
        {"and": {"field": "name", "op": "eq", "value": "a"}},
        {"field": "name", "op": "like", "value": "abc\\"},
        "NESTED",
    ],
)
def test_invalid_filters_are_refused(bad):
    if bad == "NESTED":  # deeper than the parser allows
        bad = {"field": "name", "op": "eq", "value": "a"}
        for _ in range(20):
            bad = {"and": [bad]}
    with pytest.raises(InvalidFilterError):
        f(bad)


def test_paging_ordering_and_total(seeded, clock):
    page, total = seeded.list(limit=2, offset=1)
    assert total == 6 and [r.name for r in page] == ["app.db.host", "app.db.port"]
    assert names(seeded, order="-name")[0] == "under_score"
    assert names(seeded, order="created_at")[0] == "app.db.host"
    assert names(seeded, order="-created_at")[0] == "under_score"
    clock.advance(1)
    seeded.update("app.db.host", by_name=True, value="db2")
    assert names(seeded, order="-modified_at")[0] == "app.db.host"
    page, total = seeded.list(
        f({"field": "name", "op": "like", "value": "app%"}), limit=1, offset=2
    )
    assert total == 3 and [r.name for r in page] == ["app.web"]
    assert seeded.list(limit=0)[0] == [] and seeded.list(limit=0)[1] == 6
    with pytest.raises(InvalidRequestError):
        seeded.list(order="value")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        seeded.list(limit=-1)


def test_tokens_grow_across_restarts_of_the_sqlite_store(tmp_path, clock):
    path = tmp_path / "t.db"
    first = SqliteStore(path, clock)
    issued = [first.next_token() for _ in range(5)]
    first.close()
    second = SqliteStore(path, clock)
    after = second.next_token()
    assert after > max(issued)
    assert after <= max(issued) + TOKEN_BLOCK + 1
    second.close()


def test_sqlite_store_reserves_tokens_before_issuing_them(tmp_path, clock):
    """Even a process killed right after issuing a token never lets the next run reuse it:
    the reservation on disk is always above every token handed out."""
    path = tmp_path / "t.db"
    s = SqliteStore(path, clock)
    for _ in range(TOKEN_BLOCK + 3):
        token = s.next_token()
        reserved = (
            sqlite3.connect(path)
            .execute("SELECT value FROM meta WHERE key = 'token_reserved'")
            .fetchone()[0]
        )
        assert reserved >= token
    s.close()


def test_sqlite_store_keeps_settings_across_restarts(tmp_path, clock):
    path = tmp_path / "p.db"
    s = SqliteStore(path, clock)
    rec = s.create("kept", {"a": 1}, "d")
    s.update(rec.id, value={"a": 2})
    s.close()
    again = SqliteStore(path, clock)
    got = again.get("kept", by_name=True)
    assert (got.id, got.value, got.description, got.version) == (rec.id, {"a": 2}, "d", 2)
    again.close()


def test_iso_writes_what_datetime_writes_rounding_alike():
    """iso() is a faster datetime.fromtimestamp(t, UTC).strftime(...): the same text for any
    time, microseconds rounded half to even, including at the edges of a second."""
    rng = random.Random(8)
    base = 1_764_849_600.0
    times = [base + rng.uniform(-3e8, 3e8) for _ in range(20_000)]
    times += [base + k / 1e6 + 5e-7 for k in range(500)]  # exact halves
    times += [math.nextafter(base + k / 1e6 + 5e-7, 0) for k in range(500)]
    times += [base + 0.9999995, base + 0.9999996, base - 0.0000004, 0.0, -1.5, 1e-7]
    for t in times:
        assert iso(t) == datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), t

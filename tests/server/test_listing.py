"""Listing settings a page at a time: cursors (keyset paging), counting, the rows' JSON.

Both backends, store level and over HTTP. What a user relies on: following ``next`` returns every
setting exactly once and in order, also when settings come and go between pages; filters and
projections hold on every page; a bad cursor is a 400, never a 500.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _http_helpers import assert_error, fast_client

from mock_server import (
    ManualClock,
    MemoryStore,
    SettingStore,
    SqliteStore,
    build_backend,
    run_server,
)
from mock_server._errors import InvalidRequestError
from mock_server._filters import like_prefix, matches, parse_filter, prefix_end
from mock_server._store import ORDERS, SETTING_FIELDS

NAME_LIKE_7 = {"field": "name", "op": "like", "value": "item-%7"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Any) -> SettingStore:
    if request.param == "memory":
        return MemoryStore(clock)
    s = SqliteStore(tmp_path / "s.db", clock)
    request.addfinalizer(s.close)
    return s


def f(raw: object) -> Any:
    return parse_filter(raw, SETTING_FIELDS)


def seed(store: SettingStore, clock: ManualClock, count: int) -> None:
    # Created out of name order, with distinct and with shared creation times.
    for i in random.Random(7).sample(range(count), count):
        clock.advance(0.5 if i % 3 else 0)
        store.create(f"item-{i:03d}", {"n": i}, f"setting {i}")


def walk(store: SettingStore, size: int, **kw: Any) -> list[dict[str, Any]]:
    """Every row, following ``next`` from page to page."""
    rows: list[dict[str, Any]] = []
    after = None
    for _ in range(10_000):
        page = store.page(limit=size, after=after, **kw)
        rows += [json.loads(r) for r in page.rows]
        if page.next is None:
            return rows
        after = page.next
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("size", [1, 7, 40])
def test_following_next_returns_every_setting_once_in_order(store, clock, order, size):
    seed(store, clock, 40)
    expected = [r.wire() for r in store.list(order=order, limit=1000)[0]]
    assert walk(store, size, order=order) == expected


@pytest.mark.parametrize("order", ["name", "-name", "created_at", "-modified_at"])
def test_cursor_and_filter(store, clock, order):
    seed(store, clock, 120)
    flt = f(NAME_LIKE_7)
    expected = [r.wire() for r in store.list(flt, order=order)[0]]
    assert len(expected) == 12
    assert walk(store, 5, flt=flt, order=order) == expected
    by_value = f({"field": "value", "op": "ne", "value": {"n": 3}})  # tested in Python
    expected = [r.wire() for r in store.list(by_value, order=order)[0]]
    assert walk(store, 9, flt=by_value, order=order) == expected
    assert walk(store, 9, flt=by_value, order=order, count=False) == expected


# Which settings created mid-walk sort after the cursor (and so must be seen) in each order.
AHEAD = {"name": ("zzz-",), "-name": ("aaa-",), "created_at": ("aaa-", "zzz-"), "-created_at": ()}


@pytest.mark.parametrize("order", AHEAD)
def test_settings_created_and_deleted_between_pages(store, clock, order):
    seed(store, clock, 30)
    before = [r.name for r in store.list(order=order)[0]]
    seen: list[str] = []
    deleted: list[str] = []
    created: list[str] = []
    gone_unseen: list[str] = []
    after = None
    while True:
        page = store.page(order=order, limit=4, after=after)
        seen += [json.loads(r)["name"] for r in page.rows]
        if page.next is None:
            break
        after = page.next
        # Between pages: one setting not seen yet and one seen already go; two new ones come,
        # one sorting before the cursor and one after it.
        unseen = [n for n in before if n not in seen and n not in deleted]
        for name in {unseen[-1], seen[0]} - set(deleted) if unseen else ():
            store.delete(name, by_name=True)
            deleted.append(name)
            if name in unseen:
                gone_unseen.append(name)
        clock.advance(1)
        # Numbered so that each "aaa-" sorts first and each "zzz-" last of all names so far.
        created.append(store.create(f"aaa-{999 - len(created):03d}", 0).name)
        created.append(store.create(f"zzz-{len(created):03d}", 0).name)
    assert len(seen) == len(set(seen)), "a setting came twice"
    survivors = [n for n in before if n not in deleted]
    assert [n for n in seen if n in survivors] == survivors, "a setting was skipped or misplaced"
    assert gone_unseen and not set(gone_unseen) & set(seen), "a deleted setting came"
    ahead = [n for n in created if n.startswith(AHEAD[order])]
    assert [n for n in seen if n in created] == sorted(
        ahead, key=[r.name for r in store.list(order=order)[0]].index
    )
    final = [r.name for r in store.list(order=order)[0]]
    assert [n for n in seen if n in final] == [n for n in final if n in seen], "out of order"


def test_count_is_asked_for(store, clock):
    seed(store, clock, 10)
    first = store.page(limit=3)
    assert first.total == 10 and first.next is not None
    assert store.page(limit=3, after=first.next, count=False).total is None
    assert store.page(limit=3, after=first.next).total == 10  # store default: count
    flt = f({"field": "name", "op": "like", "value": "item-00%"})
    assert store.page(flt, limit=3, count=True).total == 10
    assert store.page(flt, limit=3, count=False).total is None


def test_the_last_page_has_no_next(store, clock):
    seed(store, clock, 6)
    assert store.page(limit=6).next is None  # exactly full: no empty page to ask for
    assert store.page(limit=5).next is not None
    assert store.page(limit=0).next is None and store.page(limit=0).rows == []
    empty = store.page(f({"field": "name", "op": "eq", "value": "nope"}), limit=5)
    assert empty.rows == [] and empty.next is None and empty.total == 0
    last = store.page(limit=5).next
    assert store.page(limit=5, after=last).rows == [store.page(limit=6).rows[-1]]


def test_offset_still_pages(store, clock):
    seed(store, clock, 10)
    page = store.page(limit=3, offset=4)
    names = [json.loads(r)["name"] for r in page.rows]
    assert names == ["item-004", "item-005", "item-006"] and page.total == 10
    rest = store.page(limit=100, after=page.next)
    assert [json.loads(r)["name"] for r in rest.rows] == [f"item-{i:03d}" for i in range(7, 10)]


def test_rows_are_the_wire_form(store, clock):
    values = [
        {"b": 1, "a": [1, 2.5, None, True, False]},
        12345678901234567890123,
        -0.0,
        1e-7,
        1.0,
        'é \u2028 😀 \x00 " \\',
        [],
        {},
        None,
    ]
    for i, value in enumerate(values):
        store.create(f"v{i}", value, description="d\x00\x1f é" if i % 2 else None)
    rows = [json.loads(r) for r in store.page().rows]
    assert rows == [r.wire() for r in store.list()[0]]
    for row, value in zip(rows, values, strict=True):
        assert json.dumps(row["value"]) == json.dumps(value)  # 1.0 stays 1.0, -0.0 stays -0.0


def test_projection(store, clock):
    seed(store, clock, 3)
    rows = [json.loads(r) for r in store.page(fields=["value", "name", "value"]).rows]
    assert [list(r) for r in rows] == [["value", "name"]] * 3
    assert rows[0] == {"value": {"n": 0}, "name": "item-000"}
    by_value = f({"field": "value", "op": "eq", "value": {"n": 2}})  # tested in Python
    rows = [json.loads(r) for r in store.page(by_value, fields=["version", "name"]).rows]
    assert rows == [{"version": 1, "name": "item-002"}]


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64!",
        "é",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b"[]").decode(),
        base64.urlsafe_b64encode(b'["name"]').decode(),
        base64.urlsafe_b64encode(b'["name", 5]').decode(),
        base64.urlsafe_b64encode(b'["name", "a", "b"]').decode(),
        base64.urlsafe_b64encode(b'["name", "\\ud800"]').decode(),
        base64.urlsafe_b64encode(b'["created_at", "a"]').decode(),
        base64.urlsafe_b64encode(b'["created_at", true, "a"]').decode(),
        base64.urlsafe_b64encode(b'["created_at", Infinity, "a"]').decode(),
        base64.urlsafe_b64encode(b'["created_at", 1e999, "a"]').decode(),
        base64.urlsafe_b64encode(('["created_at", 1' + "0" * 400 + ', "a"]').encode()).decode(),
        "A" * 5000,
    ],
)
@pytest.mark.parametrize("order", ["name", "created_at"])
def test_a_bad_cursor_is_refused(store, clock, cursor, order):
    seed(store, clock, 3)
    with pytest.raises(InvalidRequestError, match="after"):
        store.page(order=order, after=cursor)


def test_a_cursor_keeps_its_order(store, clock):
    seed(store, clock, 5)
    cursor = store.page(limit=2).next
    with pytest.raises(InvalidRequestError, match="order 'name', not '-name'"):
        store.page(order="-name", after=cursor)
    with pytest.raises(InvalidRequestError, match="after and offset"):
        store.page(after=cursor, offset=1)


def test_huge_numbers_and_lone_surrogates_in_filters_are_no_500(store, clock):
    seed(store, clock, 5)
    for flt in (
        {"field": "version", "op": "eq", "value": 2**70},
        {"field": "name", "op": "like", "value": "\ud800%"},
        {"field": "name", "op": "ne", "value": "\ud800"},
    ):
        page = store.page(f(flt), limit=2)
        rest = store.page(f(flt), limit=10, after=page.next) if page.next else None
        everything = [json.loads(r) for r in page.rows] + (
            [json.loads(r) for r in rest.rows] if rest else []
        )
        assert everything == [r.wire() for r in store.list(f(flt))[0]]


# -- like prefixes (the name range SQLite seeks by) ---------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        ("abc%", "abc"),
        ("abc", "abc"),
        ("a_c%", "a"),
        ("%abc", ""),
        ("a\\%b%", "a%b"),
        ("a\\_b_", "a_b"),
        ("a\\\\b%", "a\\b"),
        ("é😀x%", "é😀x"),
    ],
)
def test_like_prefix(pattern, prefix):
    assert like_prefix(pattern) == prefix


def test_prefix_end_is_above_every_text_with_the_prefix():
    assert prefix_end("abc") == "abd"
    assert prefix_end("a\U0010ffff") == "b"
    assert prefix_end("\U0010ffff") is None
    assert prefix_end("a\ud7ff") == "a\ue000"  # past the surrogates
    assert prefix_end("") is None


NAMES = [
    "a",
    "ab",
    "abc",
    "abd",
    "a%b",
    "a_b",
    "a\\b",
    "b",
    "é",
    "éa",
    "\ud7ffx",
    "\ue000",
    "\U0010ffff",
    "z",
]
PATTERNS = [
    "a%",
    "ab%",
    "a\\%%",
    "a\\_%",
    "a\\\\%",
    "é%",
    "\ud7ff%",
    "\U0010ffff%",
    "%b",
    "a_",
    "abc",
    "zz%",
]


@pytest.mark.parametrize("order", ["name", "-name"])
def test_like_ranges_agree_with_matching(tmp_path, clock, order):
    store = SqliteStore(tmp_path / "r.db", clock)
    try:
        for name in NAMES:
            store.create(name, 0)
        for pattern in PATTERNS:
            leaf = {"field": "name", "op": "like", "value": pattern}
            for flt in (f(leaf), f({"and": [leaf, {"field": "version", "op": "eq", "value": 1}]})):
                expected = sorted(
                    (n for n in NAMES if matches(flt, {"name": n, "version": 1})),
                    reverse=order == "-name",
                )
                got = [r["name"] for r in walk(store, 2, flt=flt, order=order)]
                assert got == expected, pattern
    finally:
        store.close()


# -- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def http(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[httpx.Client]:
    backend = build_backend(memory=request.param == "memory", db=tmp_path / "h.db")
    with run_server(backend, token="t") as server, fast_client(server.url, "t") as client:
        for i in range(25):
            assert client.post("/setting", json={"name": f"item-{i:02d}", "value": i}).is_success
        yield client


def test_http_pages_follow_next(http):
    first = http.get("/setting", params={"limit": 10})
    body = first.json()
    assert set(body) == {"setting", "total", "limit", "offset", "next"}
    assert body["total"] == 25 and first.headers["X-Total-Count"] == "25"
    assert first.headers["X-Next-Cursor"] == body["next"]
    names = [s["name"] for s in body["setting"]]
    while body["next"] is not None:
        r = http.get("/setting", params={"limit": 10, "after": body["next"]})
        body = r.json()
        assert "total" not in body and "X-Total-Count" not in r.headers  # counted once
        names += [s["name"] for s in body["setting"]]
    assert names == [f"item-{i:02d}" for i in range(25)]
    assert "X-Next-Cursor" not in r.headers


def test_http_cursor_with_filter_fields_plain_and_count(http):
    flt = json.dumps({"field": "name", "op": "like", "value": "item-%1"})
    first = http.get("/setting", params={"filter": flt, "limit": 1, "fields": "name"}).json()
    assert first["setting"] == [{"name": "item-01"}] and first["total"] == 3
    r = http.get(
        "/setting",
        params={"filter": flt, "fields": "name", "after": first["next"], "plain": "true"},
    )
    assert r.json() == [{"name": "item-11"}, {"name": "item-21"}]
    assert "X-Next-Cursor" not in r.headers
    counted = http.get("/setting", params={"filter": flt, "after": first["next"], "count": "1"})
    assert counted.json()["total"] == 3 and counted.headers["X-Total-Count"] == "3"
    uncounted = http.get("/setting", params={"count": "false"})
    assert "total" not in uncounted.json() and len(uncounted.json()["setting"]) == 25


def test_http_offset_paging_is_unchanged(http):
    body = http.get("/setting", params={"limit": 5, "offset": 20}).json()
    assert [s["name"] for s in body["setting"]] == [f"item-{i}" for i in range(20, 25)]
    assert (body["total"], body["limit"], body["offset"], body["next"]) == (25, 5, 20, None)


@pytest.mark.parametrize(
    "params",
    [
        {"after": "garbage"},
        {"after": "x" * 5000},
        {"after": "NEXT", "order": "-name"},
        {"after": "NEXT", "offset": 3},
        {"count": "maybe"},
    ],
    ids=["garbage", "too-long", "other-order", "with-offset", "count"],
)
def test_http_bad_cursor_is_400(http, params):
    cursor = http.get("/setting", params={"limit": 2}).json()["next"]
    query = {k: cursor if v == "NEXT" else v for k, v in params.items()}
    body = assert_error(http.get("/setting", params=query), 400, "InvalidRequestError")
    assert next(iter(params)) in body["message"]


def test_an_older_database_gets_the_time_and_name_indexes(tmp_path, clock):
    path = tmp_path / "old.db"
    store = SqliteStore(path, clock)
    store.create("a", 1)
    # As the schema was before cursors: time indexes without the name.
    store._db.executescript(
        "DROP INDEX setting_created_name; DROP INDEX setting_modified_name;"
        "CREATE INDEX setting_created ON setting (created_ts);"
        "CREATE INDEX setting_modified ON setting (modified_ts);"
    )
    store.close()
    store = SqliteStore(path, clock)
    try:
        indexes = {
            row[0]
            for row in store._db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            if not row[0].startswith("sqlite_autoindex")
        }
        assert indexes == {"setting_created_name", "setting_modified_name"}
        assert [json.loads(r)["name"] for r in store.page(order="created_at").rows] == ["a"]
    finally:
        store.close()

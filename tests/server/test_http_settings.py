"""4xx answers of ``/setting``: names, types, lookups, filters, fields, paging, If-Match, fences.

Each error is checked for its status and body, and each refused write for an unchanged state,
read back through the API.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from _http_helpers import (
    assert_error,
    create_execution,
    create_setting,
    snapshot,
)


@pytest.fixture
def existing(api: httpx.Client) -> dict[str, Any]:
    create_setting(api, "other", 0)
    return create_setting(api, "config", {"a": [1, 2]}, description="d")


# -- names and field types --------------------------------------------------------------------

BAD_NAMES = {
    "empty": "",
    "blank": "   ",
    "tabs-and-newlines": "\t\n ",
    "too-long": "x" * 513,
    "tab-inside": "a\tb",
    "newline-inside": "a\nb",
    "nul": "a\x00b",
    "del": "a\x7fb",
    "c1-control": "a\x85b",
    "not-a-string": 42,
    "null": None,
    "list": ["a"],
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_bad_name_on_create(api, existing, name):
    before = snapshot(api)
    assert_error(api.post("/setting", json={"name": name, "value": 1}), 422, "ValidationError")
    assert snapshot(api) == before


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_bad_name_on_rename(api, existing, name):
    before = snapshot(api)
    r = api.patch(f"/setting/{existing['id']}", json={"name": name})
    assert_error(r, 422, "ValidationError")
    assert snapshot(api) == before


def test_lone_surrogate_in_a_name(api, existing):
    before = snapshot(api)
    r = api.post("/setting", content=b'{"name": "a\\ud800b"}')
    assert_error(r, 422, "ValidationError")
    assert snapshot(api) == before


def test_missing_name(api):
    body = assert_error(api.post("/setting", json={"value": 1}), 422, "ValidationError")
    assert "name" in body["message"]
    assert api.get("/setting").json()["total"] == 0


def test_name_at_the_length_limit_after_stripping(api):
    r = api.post("/setting", json={"name": "  " + "x" * 512 + "  "})
    assert r.status_code == 200 and r.json()["setting"]["name"] == "x" * 512


@pytest.mark.parametrize("name", ["config", "  config ", "config\t"])
def test_name_taken_on_create(api, existing, name):
    before = snapshot(api)
    body = assert_error(api.post("/setting", json={"name": name}), 409, "ConflictError")
    assert "config" in body["message"]
    assert snapshot(api) == before


def test_name_taken_on_rename(api, existing):
    before = snapshot(api)
    r = api.patch(f"/setting/{existing['id']}", json={"name": " other "})
    assert_error(r, 409, "ConflictError")
    assert snapshot(api) == before


@pytest.mark.parametrize(
    "body",
    [
        {"name": "n", "description": 5},
        {"name": "n", "description": ["d"]},
        {"name": "n", "description": "x" * (64 * 1024 + 1)},
        {"name": "n", "extra": 1},
        {"name": "n", "Value": 1},
        {"name": "n", "id": str(uuid.uuid4())},
        {"name": "n", "version": 3},
        {"name": "n", "created_at": "2020-01-01T00:00:00Z"},
    ],
    ids=[
        "description-number",
        "description-list",
        "description-too-long",
        "unknown-field",
        "wrong-case-field",
        "id",
        "version",
        "created_at",
    ],
)
def test_bad_fields_on_create(api, existing, body):
    before = snapshot(api)
    assert_error(api.post("/setting", json=body), 422, "ValidationError")
    assert snapshot(api) == before


@pytest.mark.parametrize(
    "body",
    [
        {"description": 5},
        {"description": "x" * (64 * 1024 + 1)},
        {"name": None},
        {"extra": 1},
        {"value": 1, "version": 7},
    ],
    ids=["description-number", "description-too-long", "name-null", "unknown-field", "version"],
)
def test_bad_fields_on_update(api, existing, body):
    before = snapshot(api)
    assert_error(api.patch(f"/setting/{existing['id']}", json=body), 422, "ValidationError")
    assert snapshot(api) == before


def test_value_nested_deeper_than_255_is_refused(api):
    def nested(depth: int) -> bytes:
        return b'{"name": "deep", "value": ' + b"[" * depth + b"]" * depth + b"}"

    before = snapshot(api)
    assert_error(api.post("/setting", content=nested(256)), 422, "ValidationError")
    assert snapshot(api) == before
    assert api.post("/setting", content=nested(255)).status_code == 200


@pytest.mark.parametrize("number", [b"1e999", b"-1e999", b"1E400"])
def test_out_of_range_number_is_refused_like_infinity(api, existing, number):
    # json.loads turns 1e999 into float('inf'), which would be stored and never rendered.
    before = snapshot(api)
    r = api.post("/setting", content=b'{"name": "inf", "value": ' + number + b"}")
    assert_error(r, 400, "InvalidRequestError")
    r = api.patch(f"/setting/{existing['id']}", content=b'{"value": [' + number + b"]}")
    assert_error(r, 400, "InvalidRequestError")
    assert snapshot(api) == before


def test_lone_surrogate_in_a_description_is_refused(api, existing):
    # A lone surrogate could be stored but never encoded in an answer.
    before = snapshot(api)
    r = api.post("/setting", content=b'{"name": "s", "description": "\\ud800"}')
    assert_error(r, 422, "ValidationError")
    r = api.patch(f"/setting/{existing['id']}", content=b'{"description": "x\\udfff"}')
    assert_error(r, 422, "ValidationError")
    assert snapshot(api) == before


def test_lone_surrogate_in_a_value_is_refused(api, existing):
    before = snapshot(api)
    r = api.post("/setting", content=b'{"name": "s", "value": {"k": "\\ud800"}}')
    assert_error(r, 422, "ValidationError")
    assert snapshot(api) == before


# -- lookups ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_unknown_id(api, existing, method):
    before = snapshot(api)
    r = api.request(method, f"/setting/{uuid.uuid4()}", json={"value": 1})
    body = assert_error(r, 404, "ResourceNotFoundError")
    assert "by=name" not in body["message"]
    assert snapshot(api) == before


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_unknown_name(api, existing, method):
    before = snapshot(api)
    r = api.request(method, "/setting/nope", params={"by": "name"}, json={"value": 1})
    body = assert_error(r, 404, "ResourceNotFoundError")
    assert "nope" in body["message"]
    assert snapshot(api) == before


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_name_without_by_name_hints(api, existing, method):
    before = snapshot(api)
    r = api.request(method, "/setting/config", json={"value": 1})
    body = assert_error(r, 404, "ResourceNotFoundError")
    assert "?by=name" in body["message"]
    assert snapshot(api) == before


def test_id_with_by_name_is_looked_up_as_a_name(api, existing):
    r = api.get(f"/setting/{existing['id']}", params={"by": "name"})
    assert_error(r, 404, "ResourceNotFoundError")


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("by", ["Name", "ID", "uuid", ""])
def test_bad_by(api, existing, method, by):
    before = snapshot(api)
    r = api.request(method, "/setting/config", params={"by": by}, json={"value": 1})
    body = assert_error(r, 400, "InvalidRequestError")
    assert "by" in body["message"]
    assert snapshot(api) == before


@pytest.mark.parametrize("path", ["/setting/", "/setting/%20"])
def test_empty_key(api, path):
    assert_error(api.get(path), 404, "ResourceNotFoundError")
    assert_error(api.get(path, params={"by": "name"}), 404, "ResourceNotFoundError")


@pytest.mark.parametrize("plain", ["maybe", "2", ""])
def test_bad_plain(api, existing, plain):
    assert_error(api.get("/setting", params={"plain": plain}), 400, "InvalidRequestError")
    r = api.get(f"/setting/{existing['id']}", params={"plain": plain})
    assert_error(r, 400, "InvalidRequestError")


# -- filters, projections, paging -------------------------------------------------------------


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def nest(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = leaf("name", "eq", "x")
    for _ in range(depth):
        node = {"and": [node]}
    return node


BAD_FILTERS: dict[str, Any] = {
    "not-json": "{field: name}",
    "truncated": '{"field": "name"',
    "array": "[]",
    "string": '"name"',
    "unknown-field": leaf("nope", "eq", 1),
    "field-not-a-string": leaf(1, "eq", 1),
    "unknown-op": leaf("name", "gt", "a"),
    "op-case": leaf("name", "EQ", "a"),
    "like-on-a-number": leaf("version", "like", "1%"),
    "like-not-a-string": leaf("name", "like", 1),
    "like-trailing-escape": leaf("name", "like", "a\\"),
    "string-field-number": leaf("name", "eq", 1),
    "int-field-string": leaf("version", "eq", "1"),
    "int-field-bool": leaf("version", "eq", True),
    "leaf-missing-value": {"field": "name", "op": "eq"},
    "leaf-extra-key": {**leaf("name", "eq", "a"), "x": 1},
    "and-object": {"and": {"field": "name"}},
    "and-empty": {"and": []},
    "and-with-a-number": {"and": [1]},
    "and-with-extra-key": {"and": [leaf("name", "eq", "a")], "x": 1},
    "or-empty": {"or": []},
    "not": {"not": leaf("name", "eq", "a")},
    "too-deep": nest(17),
}


@pytest.mark.parametrize("flt", BAD_FILTERS.values(), ids=BAD_FILTERS.keys())
def test_bad_filter(api, existing, flt):
    raw = flt if isinstance(flt, str) else json.dumps(flt)
    assert_error(api.get("/setting", params={"filter": raw}), 400, "InvalidFilterError")


def test_filter_depth_limit(api, existing):
    assert api.get("/setting", params={"filter": json.dumps(nest(16))}).status_code == 200


@pytest.mark.parametrize(
    "flt",
    [
        "{",
        json.dumps(leaf("value", "eq", 1)),
        json.dumps(leaf("lease_ttl", "eq", 1)),
        json.dumps(leaf("status", "like", 1)),
    ],
)
def test_bad_execution_filter(api, flt):
    create_execution(api, "e")
    assert_error(api.get("/execution", params={"filter": flt}), 400, "InvalidFilterError")


@pytest.mark.parametrize("fields", ["nope", "name,nope", "Name", "lock", "name;value"])
def test_unknown_fields(api, existing, fields):
    assert_error(api.get("/setting", params={"fields": fields}), 400, "InvalidRequestError")
    r = api.get(f"/setting/{existing['id']}", params={"fields": fields})
    assert_error(r, 400, "InvalidRequestError")


@pytest.mark.parametrize(
    "params",
    [
        {"limit": -1},
        {"limit": 10_001},
        {"limit": "ten"},
        {"limit": "1.5"},
        {"offset": -1},
        {"offset": "x"},
        {"order": "value"},
        {"order": "+name"},
        {"order": "name,created_at"},
        {"order": ""},
        {"order": "NAME"},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_bad_paging(api, existing, params):
    body = assert_error(api.get("/setting", params=params), 400, "InvalidRequestError")
    assert next(iter(params)) in body["message"]


# -- If-Match ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("if_match", ["2", '"2"', "0"])
def test_if_match_mismatch(api, existing, method, if_match):
    before = snapshot(api)
    r = api.request(
        method, f"/setting/{existing['id']}", json={"value": 1}, headers={"If-Match": if_match}
    )
    body = assert_error(r, 412, "PreconditionFailed")
    assert "version 1" in body["message"]
    assert snapshot(api) == before


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("if_match", ['W/"1"', 'W/"0"', "W/"])
def test_if_match_weak_tags_never_match(api, existing, method, if_match):
    # If-Match uses strong comparison (RFC 9110, 13.1.1): even W/"1" on version 1 fails.
    before = snapshot(api)
    r = api.request(
        method, f"/setting/{existing['id']}", json={"value": 1}, headers={"If-Match": if_match}
    )
    body = assert_error(r, 412, "PreconditionFailed")
    assert "weak" in body["message"]
    assert snapshot(api) == before


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("if_match", ["abc", '"1", "2"', "1.0", "-1", '"v1"'])
def test_if_match_malformed(api, existing, method, if_match):
    before = snapshot(api)
    r = api.request(
        method, f"/setting/{existing['id']}", json={"value": 1}, headers={"If-Match": if_match}
    )
    body = assert_error(r, 400, "InvalidRequestError")
    assert "If-Match" in body["message"]
    assert snapshot(api) == before


def test_if_match_on_an_old_version_after_a_write(api, existing):
    etag = api.get(f"/setting/{existing['id']}").headers["ETag"]
    assert api.patch(f"/setting/{existing['id']}", json={"value": 2}).status_code == 200
    before = snapshot(api)
    r = api.patch(f"/setting/{existing['id']}", json={"value": 3}, headers={"If-Match": etag})
    assert_error(r, 412, "PreconditionFailed")
    assert snapshot(api) == before


# -- fencing tokens and locked settings -------------------------------------------------------


@pytest.fixture
def held(api: httpx.Client) -> dict[str, Any]:
    """``job`` held by execution ``a`` (an older token was issued to ``b`` before)."""
    a, b = create_execution(api, "a"), create_execution(api, "b")
    old = api.post("/lock/acquire", json={"name": "job", "execution_id": b}).json()["token"]
    api.post("/lock/release", json={"name": "job", "execution_id": b}).raise_for_status()
    token = api.post("/lock/acquire", json={"name": "job", "execution_id": a}).json()["token"]
    assert token > old
    return {"a": a, "b": b, "old": old, "token": token}


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_stale_fencing_token(api, held, method):
    before = snapshot(api)
    for fence in (held["old"], held["token"] + 1, 0, -5):
        r = api.request(
            method, "/setting/job", params={"by": "name", "fence": fence}, json={"value": 1}
        )
        body = assert_error(r, 409, "FencingTokenError")
        assert str(fence) in body["message"]
    assert snapshot(api) == before


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_fencing_token_after_release(api, held, method):
    api.post("/lock/release", json={"name": "job", "execution_id": held["a"]}).raise_for_status()
    before = snapshot(api)
    r = api.request(
        method, "/setting/job", params={"by": "name", "fence": held["token"]}, json={"value": 1}
    )
    assert_error(r, 409, "FencingTokenError")
    assert snapshot(api) == before


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_fencing_token_on_a_setting_never_locked(api, existing, method):
    before = snapshot(api)
    r = api.request(method, f"/setting/{existing['id']}", params={"fence": 1}, json={"value": 1})
    assert_error(r, 409, "FencingTokenError")
    assert snapshot(api) == before


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("fence", ["x", "1.5", ""])
def test_fencing_token_not_an_integer(api, held, method, fence):
    before = snapshot(api)
    r = api.request(
        method, "/setting/job", params={"by": "name", "fence": fence}, json={"value": 1}
    )
    assert_error(r, 400, "InvalidRequestError")
    assert snapshot(api) == before


def test_delete_of_a_held_setting(api, held):
    before = snapshot(api)
    body = assert_error(api.delete("/setting/job", params={"by": "name"}), 409, "ConflictError")
    assert "release it first" in body["message"]
    assert snapshot(api) == before


def test_delete_of_a_setting_with_waiters_even_by_the_holder(api, held):
    r = api.post(
        "/lock/acquire", json={"name": "job", "execution_id": held["b"], "wait": 0, "timeout": 60}
    )
    assert r.status_code == 202
    before = snapshot(api)
    r = api.delete("/setting/job", params={"by": "name", "fence": held["token"]})
    assert_error(r, 409, "ConflictError")
    assert snapshot(api) == before


def test_refused_fenced_delete_keeps_the_lock(api, held):
    # The If-Match check comes before the holder's lock goes with the setting.
    before = snapshot(api)
    r = api.delete(
        "/setting/job", params={"by": "name", "fence": held["token"]}, headers={"If-Match": "99"}
    )
    assert_error(r, 412, "PreconditionFailed")
    assert snapshot(api) == before
    assert api.get("/lock/job").json()["lock"]["holder"]["token"] == held["token"]


def test_refused_fenced_update_keeps_everything(api, held):
    before = snapshot(api)
    r = api.patch(
        "/setting/job",
        params={"by": "name", "fence": held["token"]},
        json={"value": 1},
        headers={"If-Match": "99"},
    )
    assert_error(r, 412, "PreconditionFailed")
    assert snapshot(api) == before

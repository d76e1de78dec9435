"""Hostile input: schemathesis against the served OpenAPI document, and hand-written cases.

schemathesis generates requests for every documented operation (valid ones and, as hypothesis
shrinks, odd ones) against a real server on SQLite; no answer may be a 5xx or break the
response schema the document itself declares. The hand-written cases cover what the files in
``tests/server`` do not: control characters and huge or deep values in places those tests do not
reach (lock and execution names, paths, query parameters), numbers too big for SQLite, and the
lock endpoints' lean ASGI path. Each gets its 4xx and leaves the store unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from mock_server import RunningServer, build_backend, run_server

pytestmark = pytest.mark.reliability


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A real server on SQLite; long-polls are capped at 0.2 s so a generated wait is short."""
    db = Path(tmp_path_factory.mktemp("fuzz")) / "fuzz.sqlite3"
    backend = build_backend(db=db, testing=True)
    with run_server(backend, max_wait=0.2) as server:
        yield server
    backend.store.close()


@pytest.fixture(scope="module")
def served_schema(fuzzed_server: RunningServer):
    return schemathesis.openapi.from_url(f"{fuzzed_server.url}/openapi.json")


# The event stream never ends by design; it has its own tests (tests/kit/test_events.py).
schema = schemathesis.pytest.from_fixture("served_schema").exclude(path="/api/latest/events")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_schemathesis_finds_no_5xx_and_no_answer_off_its_own_schema(case, fuzzed_server):
    case.call_and_validate(
        headers={"Authorization": fuzzed_server.token},
        checks=[
            not_a_server_error,
            response_schema_conformance,
            status_code_conformance,
            content_type_conformance,
        ],
        timeout=10,
    )


# -- hand-written cases that tests/server does not cover ----------------------------------------


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def any_store(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server on each store: the two must refuse (or answer) alike."""
    if request.param == "memory":
        backend = build_backend(memory=True, testing=True)
    else:
        backend = build_backend(db=tmp_path_factory.mktemp("store") / "s.sqlite3", testing=True)
    with run_server(backend, max_wait=0.2) as server:
        yield server
    backend.store.close()


@pytest.fixture
def api(any_store: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=any_store.url, headers={"Authorization": any_store.token}, timeout=10
    ) as client:
        client.post("/_testing/reset").raise_for_status()
        client.post("/setting", json={"name": "s", "value": {"a": 1}}).raise_for_status()
        yield client


def state(api: httpx.Client) -> dict:
    r = api.get("/_testing/state")
    assert r.status_code == 200, r.text
    found = r.json()
    found.pop("now")
    return found


BEYOND_INT64 = [2**63, -(2**63) - 1, 10**30, 10**400]
BEYOND_IDS = ["2^63", "-2^63-1", "1e30", "1e400"]


@pytest.mark.parametrize("number", BEYOND_INT64, ids=BEYOND_IDS)
def test_numbers_sqlite_cannot_hold_are_answered_not_500(api, number):
    # Found by this suite: on SQLite both were OverflowError, a 500 that also closed the
    # connection. An offset beyond every row, or a version no setting has, matches nothing.
    if number > 0:
        r = api.get("/setting", params={"offset": number})
        assert r.status_code == 200, r.text
        assert r.json()["setting"] == [] and r.json()["total"] == 1
    flt = {"field": "version", "op": "eq", "value": number}
    r = api.get("/setting", params={"filter": json.dumps(flt)})
    assert r.status_code == 200, r.text
    assert r.json()["setting"] == [] and r.json()["total"] == 0
    both = {"and": [{"field": "name", "op": "eq", "value": "s"}, flt]}
    r = api.get("/setting", params={"filter": json.dumps(both)})
    assert r.status_code == 200 and r.json()["total"] == 0, r.text


@pytest.mark.parametrize("number", BEYOND_INT64, ids=BEYOND_IDS)
def test_huge_tokens_and_versions_are_refused_and_change_nothing(api, number):
    before = state(api)
    r = api.patch("/setting/s", params={"by": "name", "fence": number}, json={"value": 2})
    assert r.status_code in (409, 400), r.text
    if_match = {"If-Match": str(number)}
    r = api.patch("/setting/s", params={"by": "name"}, json={"value": 2}, headers=if_match)
    assert r.status_code in (412, 400), r.text
    r = api.post("/lock/release", json={"name": "s", "token": number})
    assert r.status_code in (409, 422), r.text
    assert state(api) == before


@pytest.mark.parametrize("raw", ["a%00b", "%1b%5b31m", "a%0ab", "%7f", "%c2%85"])
def test_control_characters_in_paths_are_unknown_names_and_change_nothing(api, raw):
    before = state(api)
    for method in ("GET", "PATCH", "DELETE"):
        r = api.request(method, f"/setting/{raw}", params={"by": "name"}, json={"value": 1})
        assert r.status_code == 404, (method, r.text)
    assert api.get(f"/lock/{raw}").status_code == 404
    assert state(api) == before


def test_values_beyond_int64_and_control_characters_are_stored_whole(api):
    value = {"big": 10**400, "neg": -(2**64), "text": "a\x00\x1b[31m\u2028b", "k\x07": [None]}
    r = api.post("/setting", json={"name": "odd", "value": value})
    assert r.status_code == 200, r.text
    assert api.get("/setting/odd", params={"by": "name"}).json()["setting"]["value"] == value
    listed = api.get("/setting", params={"plain": True, "fields": "name,value"}).json()
    assert {"name": "odd", "value": value} in listed

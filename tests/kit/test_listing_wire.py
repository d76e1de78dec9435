"""respx: what the SDK asks for while listing, and how it reads the answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

import cloudomation_kit as ck
from cloudomation_kit import Client

from .conftest import TOKEN, URL


def setting(name: str) -> dict[str, Any]:
    return {
        "id": "5b0c0a6e-8d1f-4a43-9a50-2b7e0c7d2f11",
        "name": name,
        "value": {"n": name},
        "description": None,
        "created_at": "2026-01-01T00:00:00.000000Z",
        "modified_at": "2026-01-01T00:00:00.000000Z",
        "version": 1,
    }


def _client() -> Client:
    return Client(URL, TOKEN, max_retries=0)


@respx.mock
def test_the_sdk_follows_next_and_never_counts_again() -> None:
    pages = {
        None: {
            "setting": [setting("a"), setting("b")],
            "total": 3,
            "limit": 2,
            "offset": 0,
            "next": "c1",
        },
        "c1": {"setting": [setting("c")], "limit": 2, "offset": 0, "next": None},
    }
    asked: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        asked.append(params)
        return httpx.Response(200, json=pages[params.get("after")])

    respx.get(f"{URL}/setting").mock(side_effect=answer)
    with _client() as client:
        listing = client.settings.list(name_like="%", page_size=2)
        assert [s.name for s in listing] == ["a", "b", "c"]
        assert listing.total == 3
    assert [sorted(p) for p in asked] == [
        ["filter", "limit", "order"],
        ["after", "filter", "limit", "order"],
    ]
    assert "offset" not in asked[1] and "count" not in asked[1]


@respx.mock
def test_a_limit_shrinks_the_last_page() -> None:
    asked: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        asked.append(params)
        n = int(params["limit"])
        return httpx.Response(200, json={"setting": [setting("x")] * n, "next": f"c{len(asked)}"})

    respx.get(f"{URL}/setting").mock(side_effect=answer)
    with _client() as client:
        assert len(client.settings.list(limit=5, page_size=3).all()) == 5
    assert [(p["limit"], p.get("after")) for p in asked] == [("3", None), ("2", "c1")]


@respx.mock
def test_a_server_without_cursors_is_paged_by_offset() -> None:
    names = [f"s{i}" for i in range(5)]
    asked: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        asked.append(params)
        start, n = int(params.get("offset", 0)), int(params["limit"])
        body = {"setting": [setting(x) for x in names[start : start + n]], "total": len(names)}
        return httpx.Response(200, json=body)

    respx.get(f"{URL}/setting").mock(side_effect=answer)
    with _client() as client:
        assert client.settings.list(page_size=2).all().names() == names
    # Three pages; the total says the third is the last, so no empty fourth is asked for.
    assert [p.get("offset") for p in asked] == [None, "2", "4"]


@respx.mock
def test_a_bare_list_answer_is_one_page() -> None:
    respx.get(f"{URL}/setting").mock(
        return_value=httpx.Response(200, json=[setting("a"), setting("b")])
    )
    with _client() as client:
        assert client.settings.list(page_size=10).all().names() == ["a", "b"]


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (httpx.Response(200, text="<html>"), "not JSON"),
        (httpx.Response(200, json={"setting": [{"name": 1}]}), "not a page of settings"),
        (httpx.Response(200, json={"setting": [], "next": 5}), "not a page of settings"),
    ],
    ids=["html", "bad-setting", "bad-next"],
)
@respx.mock
def test_a_malformed_page_is_a_validation_error(answer: httpx.Response, says: str) -> None:
    respx.get(f"{URL}/setting").mock(return_value=answer)
    with _client() as client, pytest.raises(ck.APIResponseValidationError, match=says) as info:
        client.settings.list().all()
    assert info.value.status_code == 200

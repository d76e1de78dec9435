"""Listing through the SDK against the real server: every setting once, in order, page by page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudomation_kit import AsyncClient, Client
from mock_server import RunningServer, build_backend, run_server

from .conftest import aw

KitClient = Client | AsyncClient


async def names_while(iterable: Any, at: int, action: Callable[[], Awaitable[None]]) -> list[str]:
    """The names an iteration yields; ``action`` runs once, after the ``at``-th."""
    seen: list[str] = []
    if hasattr(iterable, "__aiter__"):
        async for setting in iterable:
            seen.append(setting.name)
            if len(seen) == at:
                await action()
    else:
        for setting in iterable:
            seen.append(setting.name)
            if len(seen) == at:
                await action()
    return seen


async def test_settings_come_and_go_while_listing(kit_client: KitClient) -> None:
    for i in range(25):
        await aw(kit_client.settings.create(f"item-{i:02d}", i))

    async def churn() -> None:
        # Between the first page and the second: one seen and one unseen setting go, one new
        # setting sorts before the cursor and one after it.
        await aw(kit_client.settings.delete("item-00"))
        await aw(kit_client.settings.delete("item-15"))
        await aw(kit_client.settings.create("aaa", 0))
        await aw(kit_client.settings.create("zzz", 0))

    listing = kit_client.settings.list(page_size=10)
    seen = await names_while(listing, 10, churn)
    expected = [f"item-{i:02d}" for i in range(25) if i != 15] + ["zzz"]
    assert seen == expected
    assert listing.total == 25  # counted with the first page


async def test_filter_and_limit_hold_on_every_page(kit_client: KitClient) -> None:
    for i in range(40):
        await aw(kit_client.settings.create(f"item-{i:02d}", i))

    async def nothing() -> None:
        return None

    listing = kit_client.settings.list(name_like="item-%3", page_size=1, order="-name")
    assert await names_while(listing, 0, nothing) == ["item-33", "item-23", "item-13", "item-03"]
    assert listing.total == 4
    limited = kit_client.settings.list(limit=5, page_size=2, order="created_at")
    assert await names_while(limited, 0, nothing) == [f"item-{i:02d}" for i in range(5)]
    again = await names_while(limited, 0, nothing)  # a listing can be walked twice
    assert again == [f"item-{i:02d}" for i in range(5)]


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[RunningServer]:
    with run_server(build_backend(db=tmp_path / "kit.db"), token="t") as server:
        yield server


def test_every_setting_once_on_sqlite(sqlite_server: RunningServer) -> None:
    with Client(sqlite_server.url, sqlite_server.token) as client:
        for i in range(30):
            client.settings.create(f"s-{i:02d}", {"i": i}, description=f"d{i}")
        listing = client.settings.list(page_size=7)
        settings = listing.all()
        assert [s.value for s in settings] == [{"i": i} for i in range(30)]
        assert [s.description for s in settings] == [f"d{i}" for i in range(30)]
        assert listing.total == 30
        assert settings[0] == client.settings.get("s-00")
        by_value = client.settings.list({"field": "value", "op": "eq", "value": {"i": 7}})
        assert by_value.all().names() == ["s-07"]

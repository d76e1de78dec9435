"""One settings suite, run on Client and on AsyncClient against the real server."""

from __future__ import annotations

import pytest

import cloudomation_kit as ck
from cloudomation_kit import AsyncClient, Client, SettingList

from .conftest import aw, collect

KitClient = Client | AsyncClient


async def test_create_and_get_by_id_and_by_name(kit_client: KitClient) -> None:
    created = await aw(kit_client.settings.create("notification_emails", ["a@x", "b@x"], "who"))
    assert created.name == "notification_emails"
    assert created.version == 1
    by_id = await aw(kit_client.settings.get(created.id))
    by_name = await aw(kit_client.settings.get("notification_emails"))
    assert by_id == by_name
    assert by_name.value == ["a@x", "b@x"]
    assert by_name.description == "who"


async def test_names_with_slashes_blanks_and_unicode(kit_client: KitClient) -> None:
    for name in ["team/a b", "ümlaut ✓", "50% off?&x=1"]:
        await aw(kit_client.settings.create(name, {"n": name}))
        assert (await aw(kit_client.settings.get(name))).value == {"n": name}


async def test_missing_setting(kit_client: KitClient) -> None:
    with pytest.raises(ck.ResourceNotFoundError):
        await aw(kit_client.settings.get("nope"))
    with pytest.raises(ck.ResourceNotFoundError):
        await aw(kit_client.settings.get("5b0c0a6e-8d1f-4a43-9a50-2b7e0c7d2f11"))
    assert await aw(kit_client.settings.exists("nope")) is False


async def test_duplicate_name_is_a_conflict(kit_client: KitClient) -> None:
    await aw(kit_client.settings.create("dup", 1))
    with pytest.raises(ck.ConflictError):
        await aw(kit_client.settings.create("dup", 2))


async def test_update_by_id_and_by_name(kit_client: KitClient) -> None:
    s = await aw(kit_client.settings.create("counter", 1, "a counter"))
    s2 = await aw(kit_client.settings.update(s.id, value=2))
    assert (s2.value, s2.description, s2.version) == (2, "a counter", 2)
    s3 = await aw(kit_client.settings.update("counter", description=None))
    assert (s3.value, s3.description, s3.version) == (2, None, 3)
    s4 = await aw(kit_client.settings.update("counter", value=None))
    assert s4.value is None
    with pytest.raises(ValueError, match="nothing to update"):
        await aw(kit_client.settings.update("counter"))


async def test_rename(kit_client: KitClient) -> None:
    s = await aw(kit_client.settings.create("old", 1))
    await aw(kit_client.settings.update(s.id, name="new"))
    assert await aw(kit_client.settings.exists("new"))
    assert not await aw(kit_client.settings.exists("old"))


async def test_delete_by_id_and_by_name(kit_client: KitClient) -> None:
    a = await aw(kit_client.settings.create("a", 1))
    await aw(kit_client.settings.create("b", 1))
    await aw(kit_client.settings.delete(a.id))
    await aw(kit_client.settings.delete("b"))
    assert not await aw(kit_client.settings.exists("a"))
    assert not await aw(kit_client.settings.exists("b"))
    with pytest.raises(ck.ResourceNotFoundError):
        await aw(kit_client.settings.delete("b"))


async def test_if_version_conflicts(kit_client: KitClient) -> None:
    s = await aw(kit_client.settings.create("cfg", {"v": 1}))
    await aw(kit_client.settings.update("cfg", value={"v": 2}, if_version=s.version))
    with pytest.raises(ck.PreconditionFailedError) as info:
        await aw(kit_client.settings.update("cfg", value={"v": 3}, if_version=s.version))
    assert info.value.status_code == 412
    with pytest.raises(ck.PreconditionFailedError):
        await aw(kit_client.settings.delete("cfg", if_version=s.version))
    assert (await aw(kit_client.settings.get("cfg"))).value == {"v": 2}
    await aw(kit_client.settings.delete("cfg", if_version=s.version + 1))


async def test_pagination_walks_every_page(kit_client: KitClient) -> None:
    for i in range(23):
        await aw(kit_client.settings.create(f"item-{i:02d}", i))
    await aw(kit_client.settings.create("other", 0))
    pages = kit_client.settings.list(name_like="item-%", page_size=5)
    items = await collect(pages)
    assert [s.value for s in items] == list(range(23))
    assert pages.total == 23
    limited = await collect(kit_client.settings.list(limit=7, page_size=3, order="-name"))
    assert [s.name for s in limited] == ["other"] + [f"item-{i:02d}" for i in range(22, 16, -1)]
    everything = await collect(kit_client.settings.list())
    assert len(everything) == 24


async def test_all_returns_a_setting_list(kit_client: KitClient) -> None:
    await aw(kit_client.settings.create("x", 1))
    await aw(kit_client.settings.create("y", 2))
    result = await aw(kit_client.settings.list().all())
    assert isinstance(result, SettingList)
    assert result.names() == ["x", "y"]
    assert "<table" in result._repr_html_()


async def test_filters(kit_client: KitClient) -> None:
    await aw(kit_client.settings.create("alpha", 1))
    await aw(kit_client.settings.create("beta", 2))
    await aw(kit_client.settings.create("gamma", 1))
    found = await collect(kit_client.settings.list({"field": "value", "op": "eq", "value": 1}))
    assert [s.name for s in found] == ["alpha", "gamma"]
    either = {
        "or": [
            {"field": "name", "op": "eq", "value": "beta"},
            {"field": "name", "op": "eq", "value": "gamma"},
        ]
    }
    found = await collect(kit_client.settings.list(either, name_like="%a"))
    assert [s.name for s in found] == ["beta", "gamma"]
    with pytest.raises(ck.InvalidFilterError):
        await collect(kit_client.settings.list({"field": "name", "op": "regex", "value": "x"}))


async def test_fenced_writes(kit_client: KitClient) -> None:
    lock = kit_client.lock("cloud-vm")
    assert await aw(lock.acquire())
    token = lock.token
    assert token is not None
    await aw(kit_client.settings.update("cloud-vm", value="mine", fence=token))
    await aw(lock.release())
    with pytest.raises(ck.FencingTokenError) as info:
        await aw(kit_client.settings.update("cloud-vm", value="stale", fence=token))
    assert isinstance(info.value, ck.LockLostError)
    assert isinstance(info.value, ck.ConflictError)
    assert (await aw(kit_client.settings.get("cloud-vm"))).value == "mine"


async def test_delete_of_a_held_lock_needs_its_fence(kit_client: KitClient) -> None:
    lock = kit_client.lock("held")
    await aw(lock.acquire())
    with pytest.raises(ck.ConflictError):
        await aw(kit_client.settings.delete("held"))
    await aw(kit_client.settings.delete("held", fence=lock.token))
    assert not await aw(kit_client.settings.exists("held"))
    assert await aw(lock.release()) is False


async def test_value_too_large(kit_client: KitClient) -> None:
    with pytest.raises(ck.ValueTooLargeError):
        await aw(kit_client.settings.create("big", "x" * (2 * 1024 * 1024)))


async def test_empty_name_is_refused_before_or_by_the_server(kit_client: KitClient) -> None:
    with pytest.raises(ValueError):
        await aw(kit_client.settings.get("  "))
    with pytest.raises(ck.UnprocessableEntityError):
        await aw(kit_client.settings.create("   ", 1))


async def test_a_fence_of_none_is_refused_not_dropped(kit_client: KitClient) -> None:
    """``fence=lock.token`` after the lock was released is None: refuse the write rather than
    send it unfenced."""
    client = kit_client
    await aw(client.settings.create("fenced", 1))
    lk = client.lock("fenced")
    if hasattr(lk, "__aenter__"):
        async with lk:
            pass
    else:
        with lk:
            pass
    assert lk.token is None
    with pytest.raises(ValueError, match="fence is None"):
        await aw(client.settings.update("fenced", value=2, fence=lk.token))
    assert (await aw(client.settings.get("fenced"))).value == 1

"""The settings screen against a seeded real server: filter, view, edit, create, delete."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static, TextArea
from tui_helpers import SETTINGS, wait_for

from tui.app import CkitApp, CkitCommands
from tui.screens import ConfirmScreen, EditValueScreen, NewSettingScreen, SettingsScreen


async def loaded(pilot: Pilot[Any]) -> SettingsScreen:
    app = pilot.app
    screen = await wait_for(
        pilot,
        lambda: isinstance(app.screen, SettingsScreen) and app.screen.loaded and app.screen,
        "the settings to load",
    )
    assert isinstance(screen, SettingsScreen)
    return screen


def static_text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def select(pilot: Pilot[Any], screen: SettingsScreen, name: str) -> None:
    """Put the cursor on ``name`` and wait until the detail pane shows it (the cursor rests)."""
    setting = screen.table.find_name(name)
    assert setting is not None
    screen.table.move_to(setting.id)
    await wait_for(pilot, lambda: static_text(screen, "#detail-title") == name, f"{name} shown")


async def test_filter_narrows_as_you_type_and_escape_clears(
    seeded: httpx.Client, aapi: httpx.AsyncClient, make_app: Callable[..., CkitApp]
) -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        assert screen.table.visible_names() == sorted(SETTINGS)
        await pilot.press("slash", "d")
        assert "cloud-vm-lock" in screen.table.visible_names()
        assert "feature_flags" not in screen.table.visible_names()
        await pilot.press("b", ".")
        assert screen.table.visible_names() == ["db.primary", "db.replica"]
        assert "2 of 7 settings" in static_text(screen, "#settings-status")
        await pilot.press("enter")  # back to the table, filter kept
        assert screen.focused is screen.table
        await pilot.press("down")
        assert screen.table.current is not None
        assert screen.table.current.name == "db.replica"
        await pilot.press("escape")
        assert screen.table.visible_names() == sorted(SETTINGS)
        assert screen.query_one("#filter", Input).value == ""


async def test_detail_pane_shows_the_value_as_json(
    seeded: httpx.Client, aapi: httpx.AsyncClient, make_app: Callable[..., CkitApp]
) -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await select(pilot, screen, "db.primary")
        value = screen.query_one("#detail-value", TextArea)
        assert json.loads(value.text) == SETTINGS["db.primary"]
        assert value.language == "json"
        assert value.read_only
        assert static_text(screen, "#detail-title") == "db.primary"
        # Click a row: the mouse moves the cursor too.
        await pilot.click("#settings-table", offset=(3, 2))
        assert screen.table.current is not None
        assert screen.table.current.name == sorted(SETTINGS)[0]


async def test_the_detail_pane_follows_the_cursor_once_it_rests(
    seeded: httpx.Client, make_app: Callable[..., CkitApp]
) -> None:
    names = sorted(SETTINGS)
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        title = await wait_for(pilot, lambda: static_text(screen, "#detail-title"), "a title")
        assert title == names[0]
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: static_text(screen, "#detail-title") == names[2], "follow")
        value = screen.query_one("#detail-value", TextArea)
        assert json.loads(value.text) == SETTINGS[names[2]]
        await pilot.press("slash", *"no-such-name")
        assert screen.table.current is None
        await wait_for(pilot, lambda: not static_text(screen, "#detail-title"), "empty pane")
        assert value.text == ""


async def test_a_quick_series_of_moves_loads_only_the_setting_the_cursor_rests_on(
    seeded: httpx.Client, make_app: Callable[..., CkitApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    names = sorted(SETTINGS)
    # A minute's delay: the cursor never rests on its own here; refresh_detail() stands in.
    async with make_app(detail_delay=60).run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        screen.refresh_detail()
        assert static_text(screen, "#detail-title") == names[0]
        value = screen.query_one("#detail-value", TextArea)
        loads: list[str] = []
        load_text = value.load_text

        def counting_load(text: str) -> None:
            loads.append(text)
            load_text(text)

        monkeypatch.setattr(value, "load_text", counting_load)
        await pilot.press("down", "down", "down")
        assert screen.table.current is not None
        assert screen.table.current.name == names[3]
        assert static_text(screen, "#detail-title") == names[0]  # still moving: nothing loaded
        assert loads == []
        screen.refresh_detail()
        assert static_text(screen, "#detail-title") == names[3]
        assert [json.loads(text) for text in loads] == [SETTINGS[names[3]]]
        screen.refresh_detail()  # the same setting and version again (a lock reload does this)
        assert len(loads) == 1


async def test_the_heap_is_frozen_after_a_full_load_and_thawed_on_exit(
    seeded: httpx.Client, make_app: Callable[..., CkitApp]
) -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await wait_for(pilot, lambda: gc.get_freeze_count() > 0, "the freeze after the load")
    assert gc.get_freeze_count() == 0


async def test_a_change_on_the_server_shows_up_in_place(
    seeded: httpx.Client, aapi: httpx.AsyncClient, make_app: Callable[..., CkitApp]
) -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await select(pilot, screen, "feature_flags")
        await aapi.patch("/setting/feature_flags?by=name", json={"value": {"dark_mode": True}})
        await wait_for(
            pilot,
            lambda: screen.table.current and screen.table.current.version == 2,
            "the update event",
        )
        value = screen.query_one("#detail-value", TextArea)
        await wait_for(pilot, lambda: json.loads(value.text) == {"dark_mode": True}, "detail")
        await aapi.post("/setting", json={"name": "aaa.new", "value": 1})
        await wait_for(pilot, lambda: screen.table.find_name("aaa.new"), "the created event")
        assert screen.table.current is not None
        assert screen.table.current.name == "feature_flags"  # the cursor stayed


async def edit_text(pilot: Pilot[Any], area: TextArea, text: str) -> None:
    area.replace(text, (0, 0), area.document.end)
    await pilot.pause()


async def test_edit_shows_json_errors_then_saves_the_fix(
    seeded: httpx.Client, aapi: httpx.AsyncClient, make_app: Callable[..., CkitApp]
) -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await select(pilot, screen, "feature_flags")
        await pilot.press("e")
        editor = await wait_for(
            pilot, lambda: isinstance(pilot.app.screen, EditValueScreen) and pilot.app.screen, "ed"
        )
        area = editor.query_one("#edit-value", TextArea)
        assert json.loads(area.text) == SETTINGS["feature_flags"]
        await edit_text(pilot, area, '{\n  "new_checkout": false,\n}')
        status = static_text(editor, "#edit-json-status")
        assert "line 3, column 1" in status
        assert editor.query_one("#edit-save", Button).disabled
        await pilot.press("ctrl+s")  # refused locally: nothing is sent
        assert pilot.app.screen is editor
        await edit_text(pilot, area, '{\n  "new_checkout": false\n}')
        assert static_text(editor, "#edit-json-status") == "valid JSON"
        area.move_cursor(area.document.end)
        await pilot.press("x")  # typing shows the error at once
        assert "line 3, column 2" in static_text(editor, "#edit-json-status")
        await pilot.press("backspace")
        assert static_text(editor, "#edit-json-status") == "valid JSON"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the editor to close")
        stored = (await aapi.get("/setting/feature_flags?by=name")).json()["setting"]
        assert stored["value"] == {"new_checkout": False}
        assert stored["version"] == 2
        assert screen.table.current is not None
        assert screen.table.current.version == 2


async def test_a_concurrent_change_is_reported_never_overwritten(
    seeded: httpx.Client, aapi: httpx.AsyncClient, make_app: Callable[..., CkitApp]
) -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await select(pilot, screen, "db.primary")
        await pilot.press("e")
        editor = await wait_for(
            pilot, lambda: isinstance(pilot.app.screen, EditValueScreen) and pilot.app.screen, "ed"
        )
        await aapi.patch("/setting/db.primary?by=name", json={"value": {"host": "moved"}})
        await edit_text(pilot, editor.query_one("#edit-value", TextArea), '{"host": "mine"}')
        await pilot.press("ctrl+s")
        error = await wait_for(
            pilot, lambda: static_text(editor, "#edit-server-error"), "the refusal"
        )
        assert "changed on the server" in error
        assert pilot.app.screen is editor  # the edit is kept
        stored = (await aapi.get("/setting/db.primary?by=name")).json()["setting"]
        assert stored["value"] == {"host": "moved"}
        await pilot.press("escape")
        assert pilot.app.screen is screen


async def test_create_a_setting_and_see_a_taken_name_next_to_the_field(
    seeded: httpx.Client, aapi: httpx.AsyncClient, make_app: Callable[..., CkitApp]
) -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("n")
        dialog = await wait_for(
            pilot, lambda: isinstance(pilot.app.screen, NewSettingScreen) and pilot.app.screen, "n"
        )
        await pilot.press(*"db.primary")
        await edit_text(pilot, dialog.query_one("#new-value", TextArea), '{"x": 1}')
        await pilot.press("ctrl+s")
        error = await wait_for(pilot, lambda: static_text(dialog, "#new-name-error"), "conflict")
        assert "db.primary" in error or "exists" in error or "taken" in error
        name = dialog.query_one("#new-name", Input)
        name.value = "queue.workers"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: pilot.app.screen is screen, "the dialog to close")
        stored = (await aapi.get("/setting/queue.workers?by=name")).json()["setting"]
        assert stored["value"] == {"x": 1}
        assert screen.table.current is not None
        assert screen.table.current.name == "queue.workers"


async def test_delete_asks_first(
    seeded: httpx.Client, aapi: httpx.AsyncClient, make_app: Callable[..., CkitApp]
) -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await select(pilot, screen, "slack.webhook_channel")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "confirm")
        await pilot.press("n")
        assert pilot.app.screen is screen
        assert (await aapi.get("/setting/slack.webhook_channel?by=name")).status_code == 200
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "confirm")
        await pilot.click("#confirm-yes")
        await wait_for(
            pilot, lambda: screen.table.find_name("slack.webhook_channel") is None, "delete"
        )
        assert (await aapi.get("/setting/slack.webhook_channel?by=name")).status_code == 404


async def test_palette_jumps_to_a_setting_by_name(
    seeded: httpx.Client, aapi: httpx.AsyncClient, make_app: Callable[..., CkitApp]
) -> None:
    async with make_app().run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"replica")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: screen.table.current and screen.table.current.name == "db.replica",
            "the jump",
        )


async def test_read_only_removes_every_write(
    seeded: httpx.Client, aapi: httpx.AsyncClient, make_app: Callable[..., CkitApp]
) -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        keys = {b.binding.action for b in screen.active_bindings.values()}
        assert "filter" in keys
        assert not keys & {"edit", "new", "delete"}
        for key in ("e", "n", "d"):
            await pilot.press(key)
            await pilot.pause()
            assert pilot.app.screen is screen
        titles = [title async for title in _palette_titles(app)]
        assert "Settings: show" in titles
        assert not [t for t in titles if "edit" in t or "delete" in t or "new" in t]
        assert not [t for t in titles if "force" in t.lower()]
        await pilot.press("2")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "LocksScreen", "locks")
        keys = {b.binding.action for b in pilot.app.screen.active_bindings.values()}
        assert "pause" in keys
        assert "force_release" not in keys
    assert (await aapi.get("/setting")).json()["total"] == len(SETTINGS)


async def _palette_titles(app: CkitApp) -> Any:
    provider = CkitCommands(app.screen)
    async for hit in provider.discover():
        yield str(hit.display)

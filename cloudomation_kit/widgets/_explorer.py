"""``SettingsExplorer``: search, list, view and edit settings in a notebook."""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as widgets  # type: ignore[import-untyped]

from .._client import AsyncClient, Client
from .._exceptions import CloudomationError, PreconditionFailedError
from .._models import Setting
from ._calls import Calls, close_tree
from ._logic import (
    check_json,
    conflict_message,
    describe,
    error_html,
    filter_settings,
    message_html,
    setting_html,
    setting_options,
)

__all__ = ["SettingsExplorer"]


class SettingsExplorer:
    """Browse and edit settings: a search box, the matching settings, the selected value as JSON,
    and an editor that saves only valid JSON, and only if nobody wrote in between.

        from cloudomation_kit.widgets import SettingsExplorer
        SettingsExplorer(client)          # the last expression of a cell displays it

    The settings are loaded once (``Reload`` loads them again) and filtered as you type: every
    word of the search must occur in the name or the description, ignoring case. ``name_like``
    narrows what is loaded (``%`` any text, as in ``client.settings.list``).

    Selecting a setting reads it fresh from the server. Saving sends the editor's JSON with
    ``if_version`` set to the version shown, so a concurrent change is refused
    (``PreconditionFailedError``) and shown here instead of being overwritten; invalid JSON is
    refused before anything is sent. Errors appear in the red row at the bottom.

    ``client`` may be a ``Client`` (calls run in the event handler) or an ``AsyncClient`` (calls
    run as tasks on the kernel's event loop; ``await explorer.wait_idle()`` waits for them).
    """

    def __init__(
        self,
        client: Client | AsyncClient,
        *,
        name_like: str | None = None,
        limit: int | None = 1000,
    ) -> None:
        self.client = client
        self.name_like = name_like
        self.limit = limit
        self.settings: list[Setting] = []
        """Every setting loaded by the last reload (before the search filter)."""
        self.selected: Setting | None = None
        """The setting shown and edited, as last read from or written to the server."""
        self.last_error: str | None = None
        """The error shown in the widget (plain text), or ``None``."""
        self._calls = Calls(self._show_error)
        self._refilling = False

        self.search = widgets.Text(
            placeholder="search names and descriptions",
            description="Search",
            continuous_update=True,
        )
        self.reload_button = widgets.Button(description="Reload", icon="refresh")
        self.list = widgets.Select(options=[], rows=12, layout=widgets.Layout(width="40%"))
        self.view = widgets.HTML(message_html("Select a setting to see its value."))
        self.editor = widgets.Textarea(
            placeholder="the selected value, as JSON",
            layout=widgets.Layout(width="100%", height="12em"),
            disabled=True,
        )
        self.json_status = widgets.HTML()
        self.save_button = widgets.Button(
            description="Save", button_style="primary", icon="save", disabled=True
        )
        self.revert_button = widgets.Button(description="Revert", icon="undo", disabled=True)
        self.status = widgets.HTML()
        self.error = widgets.HTML()
        detail = widgets.VBox(
            [
                self.view,
                self.editor,
                self.json_status,
                widgets.HBox([self.save_button, self.revert_button]),
            ],
            layout=widgets.Layout(width="60%"),
        )
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.search, self.reload_button]),
                widgets.HBox([self.list, detail]),
                self.status,
                self.error,
            ]
        )

        self.search.observe(self._on_search, names="value")
        self.list.observe(self._on_select, names="value")
        self.editor.observe(self._on_edit, names="value")
        self.reload_button.on_click(lambda _: self.reload())
        self.save_button.on_click(lambda _: self.save())
        self.revert_button.on_click(lambda _: self.revert())
        self.reload()

    # -- what a user does (also callable from code) ----------------------------------------------

    def reload(self) -> None:
        """Load the settings again (keeping the search and, if it still exists, the selection)."""
        self._show_error("")
        self._calls.run(
            "Loading settings",
            lambda: self.client.settings.list(name_like=self.name_like, limit=self.limit).all(),
            self._loaded,
        )

    def select(self, name: str | None) -> None:
        """Select a setting by name (as clicking it in the list does); ``None`` clears.

        The name must be in the list as filtered by the search (else ``TraitError``)."""
        if name is None:
            self.list.value = None
            self._clear_selection()
            return
        self.list.value = name

    def save(self) -> None:
        """Save the editor's JSON to the selected setting, if it parses and nobody wrote since."""
        setting = self.selected
        if setting is None:
            self._show_error("Nothing to save: select a setting first.")
            return
        check = check_json(self.editor.value)
        if not check.ok:
            self._show_error(f"{check.error}. Nothing was saved.")
            return
        self._show_error("")

        def explain(exc: CloudomationError) -> str:
            if isinstance(exc, PreconditionFailedError):
                return conflict_message(setting.name, setting.version, exc)
            return f"Not saved: {describe(exc)}"

        self._calls.run(
            f"Saving {setting.name!r}",
            lambda: self.client.settings.update(
                setting.id, value=check.value, if_version=setting.version
            ),
            self._saved,
            explain,
        )

    def revert(self) -> None:
        """Put the selected setting's value back into the editor."""
        if self.selected is not None:
            self.editor.value = _pretty(self.selected.value)

    async def wait_idle(self) -> None:
        """With an ``AsyncClient``: wait until the calls started by the widget have finished."""
        await self._calls.wait_idle()

    def close(self) -> None:
        """Close the widget's views and cancel its pending calls."""
        self._calls.cancel()
        close_tree(self.widget)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- applying results (on the kernel's thread, in a handler or a task on its loop) ----------

    def _loaded(self, settings: list[Setting]) -> None:
        self.settings = list(settings)
        self._filter()
        count = len(self.settings)
        self.status.value = message_html(f"{count} setting{'' if count == 1 else 's'} loaded.")
        selected = self.selected
        if selected is not None:
            fresh = next((s for s in self.settings if s.id == selected.id), None)
            if fresh is not None and fresh.version != selected.version:
                self._show(fresh, keep_edits=True)

    def _filter(self) -> None:
        shown = filter_settings(self.settings, self.search.value)
        selected = self.selected
        keep = next((s.name for s in shown if selected and s.id == selected.id), None)
        # New options make ipywidgets select the first one; these changes are not the user's
        # clicks, so the handler ignores them. The selected setting stays in the editor even
        # when the search hides it from the list.
        self._refilling = True
        try:
            self.list.value = None
            self.list.options = setting_options(shown)
            self.list.value = keep
        finally:
            self._refilling = False

    def _show(self, setting: Setting, keep_edits: bool = False) -> None:
        old = self.selected
        edited = old is not None and self.editor.value != _pretty(old.value)
        self.selected = setting
        self.view.value = setting_html(setting)
        self.editor.disabled = False
        self.revert_button.disabled = False
        if keep_edits and edited:
            self.status.value = message_html(
                f"{setting.name!r} is now version {setting.version} on the server; the editor "
                "keeps your unsaved text (Revert loads the server's value)."
            )
        else:
            self.editor.value = _pretty(setting.value)
        self._on_edit()

    def _saved(self, setting: Setting) -> None:
        self.settings = [setting if s.id == setting.id else s for s in self.settings]
        self._filter()
        self._show(setting)
        self.status.value = message_html(f"Saved {setting.name!r} as version {setting.version}.")

    def _clear_selection(self) -> None:
        self.selected = None
        self.view.value = message_html("Select a setting to see its value.")
        self.editor.value = ""
        self.editor.disabled = True
        self.save_button.disabled = True
        self.revert_button.disabled = True
        self.json_status.value = ""

    def _show_error(self, message: str) -> None:
        self.last_error = message or None
        self.error.value = error_html(message)

    # -- handlers ---------------------------------------------------------------------------------

    def _on_search(self, change: Any = None) -> None:
        self._filter()

    def _on_select(self, change: Any = None) -> None:
        if self._refilling:
            return
        name = self.list.value
        if name is None:
            self._clear_selection()
            return
        self._show_error("")
        self._calls.run(f"Reading {name!r}", lambda: self.client.settings.get(name), self._show)

    def _on_edit(self, change: Any = None) -> None:
        if self.selected is None:
            return
        check = check_json(self.editor.value)
        self.save_button.disabled = not check.ok
        self.json_status.value = error_html(check.error) if check.error else ""


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)

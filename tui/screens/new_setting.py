"""``NewSettingScreen``: create a setting (name, JSON value, description)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from cloudomation_kit import (
    APIConnectionError,
    CloudomationError,
    ConflictError,
    Setting,
    UnprocessableEntityError,
)

from .._format import json_error

if TYPE_CHECKING:
    from ..app import CkitApp

__all__ = ["NewSettingScreen"]


class NewSettingScreen(ModalScreen[Setting | None]):
    """Errors land next to their field: a taken or invalid name under the name."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Create", priority=True),
        Binding("escape", "cancel", "Cancel", priority=True),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="new-dialog", classes="dialog"):
            yield Label("New setting", classes="dialog-title")
            yield Input(placeholder="name", id="new-name")
            yield Static("", id="new-name-error", classes="field-error")
            yield TextArea.code_editor("{}", language="json", id="new-value")
            yield Static("valid JSON", id="new-json-status")
            yield Input(placeholder="description (optional)", id="new-description")
            yield Static("", id="new-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create (ctrl+s)", variant="primary", id="new-save")
                yield Button("Cancel", id="new-cancel")

    def on_mount(self) -> None:
        self.query_one("#new-name", Input).focus()

    def _show(self, widget_id: str, text: str) -> None:
        widget = self.query_one(widget_id, Static)
        widget.update(text)
        widget.set_class(bool(text), "-shown")

    @on(TextArea.Changed, "#new-value")
    def _changed(self, event: TextArea.Changed) -> None:
        _, error = json_error(event.text_area.text)
        status = self.query_one("#new-json-status", Static)
        status.update("valid JSON" if error is None else f"JSON error at {error}")
        status.set_class(error is not None, "-error")
        self.query_one("#new-save", Button).disabled = error is not None

    @on(Input.Changed, "#new-name")
    def _name_changed(self) -> None:
        self._show("#new-name-error", "")

    @on(Input.Submitted)
    @on(Button.Pressed, "#new-save")
    def action_save(self) -> None:
        name = self.query_one("#new-name", Input).value.strip()
        if not name:
            self._show("#new-name-error", "A name is required.")
            return
        value, error = json_error(self.query_one("#new-value", TextArea).text)
        if error is not None:
            return
        description = self.query_one("#new-description", Input).value.strip() or None
        self.create(name, value, description)

    @on(Button.Pressed, "#new-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, group="new-save")
    async def create(self, name: str, value: object, description: str | None) -> None:
        app = cast("CkitApp", self.app)
        try:
            created = await app.client.settings.create(name, value, description)
        except (ConflictError, UnprocessableEntityError) as exc:
            self._show("#new-name-error", exc.message)
        except CloudomationError as exc:
            if isinstance(exc, APIConnectionError):
                app.connection_lost(exc)
            self._show("#new-error", f"Not created: {exc.message}")
        else:
            self.dismiss(created)

"""``EditValueScreen``: edit a value as JSON; saved only if nobody changed it meanwhile."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from cloudomation_kit import (
    APIConnectionError,
    CloudomationError,
    PreconditionFailedError,
    Setting,
)

from .._format import json_error, pretty_json

if TYPE_CHECKING:
    from ..app import CkitApp

__all__ = ["EditValueScreen"]


class EditValueScreen(ModalScreen[Setting | None]):
    """A JSON editor that reports parse errors (line, column) as you type.

    Saving sends ``If-Match`` with the version that was opened: if the setting changed on the
    server since, the save is refused and reported here, and the edit is kept, never overwritten.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel", priority=True),
    ]

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        self.setting = setting
        self.valid = True
        """The text parses as JSON."""
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-dialog", classes="dialog"):
            yield Label(
                f"Edit {self.setting.name} (version {self.setting.version})",
                classes="dialog-title",
            )
            yield TextArea.code_editor(
                pretty_json(self.setting.value), language="json", id="edit-value"
            )
            yield Static("valid JSON", id="edit-json-status")
            yield Static("", id="edit-server-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="edit-save")
                yield Button("Cancel", id="edit-cancel")

    def on_mount(self) -> None:
        self.query_one("#edit-value", TextArea).focus()

    @on(TextArea.Changed, "#edit-value")
    def _changed(self, event: TextArea.Changed) -> None:
        _, error = json_error(event.text_area.text)
        self.valid = error is None
        status = self.query_one("#edit-json-status", Static)
        status.update("valid JSON" if error is None else f"JSON error at {error}")
        status.set_class(error is not None, "-error")
        self.query_one("#edit-save", Button).disabled = error is not None

    @on(Button.Pressed, "#edit-save")
    def action_save(self) -> None:
        if not self.valid or self.saving:
            return
        value, _ = json_error(self.query_one("#edit-value", TextArea).text)
        self.saving = True
        self.save(value)

    @on(Button.Pressed, "#edit-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def _server_error(self, text: str) -> None:
        error = self.query_one("#edit-server-error", Static)
        error.update(text)
        error.set_class(bool(text), "-shown")

    @work(exclusive=True, group="edit-save")
    async def save(self, value: object) -> None:
        app = cast("CkitApp", self.app)
        try:
            updated = await app.client.settings.update(
                self.setting.id, value=value, if_version=self.setting.version
            )
        except PreconditionFailedError:
            self._server_error(
                f"Not saved: {self.setting.name} changed on the server since you opened "
                f"version {self.setting.version}. Your edit is kept here; cancel and reopen "
                "to see the current value."
            )
        except CloudomationError as exc:
            if isinstance(exc, APIConnectionError):
                app.connection_lost(exc)
            self._server_error(f"Not saved: {exc.message}")
        else:
            self.dismiss(updated)
            return
        finally:
            self.saving = False

"""What the three main screens share: the app handle, read-only checks, the connection banner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.screen import Screen
from textual.widget import Widget

from cloudomation_kit import APIConnectionError

from .messages import ConnectionChanged
from .widgets import ConnectionBanner

if TYPE_CHECKING:
    from .app import CkitApp

__all__ = ["LiveScreen"]


class LiveScreen(Screen[None]):
    """A mode screen fed by the app's event stream; ``WRITE_ACTIONS`` vanish in read-only mode."""

    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset()

    @property
    def ckit(self) -> CkitApp:
        return cast("CkitApp", self.app)

    def on_mount(self) -> None:
        self.ckit.register_screen(self)
        if not self.ckit.connected:
            self.query_one(ConnectionBanner).show_lost("server unreachable")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in self.WRITE_ACTIONS and self.ckit.read_only)

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        banner = self.query_one(ConnectionBanner)
        if message.connected:
            banner.show_ok()
            self.reload()
        else:
            banner.show_lost(message.detail or "server unreachable")

    def reload(self) -> None:
        """Load everything again (after a reconnect, or on request)."""

    def torn_down(self, main: type[Widget]) -> bool:
        """For a worker resuming after an await: whether the screen's ``main`` widget went away
        meanwhile (the app is quitting and prunes the screen), leaving nothing to show on."""
        return not self.query(main)

    def failed(self, error: BaseException) -> str:
        """Tell the app about a lost connection; the text to show next to what failed."""
        if isinstance(error, APIConnectionError):
            self.ckit.connection_lost(error)
            return "server unreachable; retrying"
        message: Any = getattr(error, "message", None) or str(error) or type(error).__name__
        return str(message)

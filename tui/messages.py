"""App-wide messages, posted by the app to every live screen (local ones live on senders)."""

from __future__ import annotations

from textual.message import Message

from cloudomation_kit import Event

__all__ = ["ConnectionChanged", "ServerEvent"]


class ServerEvent(Message):
    """One change from the server's event stream."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class ConnectionChanged(Message):
    """The connection to the server was lost, or is back (then every screen reloads)."""

    def __init__(self, connected: bool, detail: str = "") -> None:
        super().__init__()
        self.connected = connected
        self.detail = detail

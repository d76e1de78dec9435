"""``ConnectionBanner``: a line that shows while the server cannot be reached."""

from __future__ import annotations

from textual.widgets import Static

__all__ = ["ConnectionBanner"]


class ConnectionBanner(Static):
    """Hidden while connected; ``show_lost(detail)`` makes it visible until ``show_ok()``."""

    def __init__(self) -> None:
        super().__init__("", id="banner")

    def show_lost(self, detail: str) -> None:
        self.update(f"Connection lost, reconnecting… ({detail})")
        self.add_class("-lost")

    def show_ok(self) -> None:
        self.remove_class("-lost")

"""A lost server shows the banner; the app reconnects when it comes back."""

from __future__ import annotations

import socket
from contextlib import ExitStack

from tui_helpers import wait_for

from mock_server import run_server
from tui.app import CkitApp
from tui.screens import SettingsScreen
from tui.widgets import ConnectionBanner


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_banner_while_the_server_is_gone_then_reconnects():
    port, token = _free_port(), "tui-reconnect-token"
    with ExitStack() as first:
        server = first.enter_context(run_server(token=token, port=port))
        app = CkitApp(server.url, token, refresh_interval=0)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await wait_for(
                pilot,
                lambda: isinstance(app.screen, SettingsScreen) and app.screen.loaded and app.screen,
                "the settings screen",
            )
            banner = screen.query_one(ConnectionBanner)
            assert app.connected and not banner.has_class("-lost")

            first.close()  # the server goes away
            await wait_for(pilot, lambda: banner.has_class("-lost"), "the banner", within=15)
            assert not app.connected
            assert "Connection lost" in str(banner.render())

            with run_server(token=token, port=port):  # back, at the same address
                await wait_for(pilot, lambda: app.connected, "the reconnect", within=15)
                await wait_for(
                    pilot, lambda: not banner.has_class("-lost"), "the banner to go", within=5
                )

"""Short reprs, IPython pretty printing, and escaped self-contained HTML tables."""

from __future__ import annotations

from datetime import UTC, datetime

import cloudomation_kit as ck
from cloudomation_kit import SettingList

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def setting(name: str, value: object = None) -> ck.Setting:
    return ck.Setting(
        id="5b0c0a6e-8d1f-4a43-9a50-2b7e0c7d2f11",
        name=name,
        value=value,
        created_at=NOW,
        modified_at=NOW,
        version=3,
    )


def lock_model() -> ck.Lock:
    holder = ck.Holder(
        execution_id="e1", execution_name="a.py@h:1", token=7, acquired_at=NOW, lease_expires_at=NOW
    )
    waiter = ck.Waiter(
        waiter_id="w1",
        execution_id="e2",
        execution_name="<b>evil</b>",
        position=1,
        waiting_since=NOW,
        deadline=None,
    )
    return ck.Lock(name="vm", setting_id="s1", holder=holder, waiters=[waiter])


def test_short_repr_cuts_long_values() -> None:
    text = repr(setting("big", list(range(1000))))
    assert text.startswith('Setting(name="big", value=[0, 1, 2')
    assert len(text) < 120
    assert text.endswith("version=3)")


def test_lock_repr_names_holder_and_queue() -> None:
    assert repr(lock_model()) == 'Lock(name="vm", holder="a.py@h:1", token=7, waiters=1)'


def test_html_is_escaped_and_self_contained() -> None:
    html = setting("<script>alert(1)</script>", {"x": "</table>"})._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '</table>"' not in html
    assert "<link" not in html and "class=" not in html
    nested = lock_model()._repr_html_()
    assert "&lt;b&gt;evil&lt;/b&gt;" in nested
    assert nested.count("<table") == 3  # the lock, its holder, its waiters


def test_pretty_uses_the_short_repr() -> None:
    class Printer:
        def __init__(self) -> None:
            self.out = ""

        def text(self, s: str) -> None:
            self.out += s

    p = Printer()
    setting("x", 1)._repr_pretty_(p, False)
    assert p.out == 'Setting(name="x", value=1, version=3)'


def test_every_model_displays() -> None:
    for model in (setting("x"), lock_model(), ck.ErrorBody(error="E", message="<m>")):
        assert repr(model)
        assert model._repr_html_().startswith("<table")


def test_secrets_are_not_displayed() -> None:
    login = ck.LoginResult(token="secret-token", user_name="ann")
    assert "secret-token" not in repr(login)
    assert "secret-token" not in login._repr_html_()
    assert "pw" not in repr(ck.LoginRequest(user_name="ann", password="pw"))


def test_setting_list_is_one_table() -> None:
    items = SettingList([setting("a", 1), setting("b&c", 2)])
    html = items._repr_html_()
    assert html.count("<table") == 1
    assert "2 settings" in html and "b&amp;c" in html
    assert repr(items).count("Setting(") == 2
    assert isinstance(items[:1], SettingList)
    assert "(none)" in SettingList()._repr_html_()

"""``client.settings``: create, read, list, update and delete settings (sync and async twins).

A key that is a uuid is looked up by id, anything else by name.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, SupportsIndex, overload

import httpx
import pydantic
from pydantic import BaseModel, ConfigDict, TypeAdapter

from ._base import RequestOptions, dumps, setting_path
from ._constants import DEFAULT_PAGE_SIZE
from ._display import html_rows
from ._exceptions import APIResponseValidationError, ResourceNotFoundError
from ._models import Setting
from ._types import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["AsyncSettingIterator", "AsyncSettings", "SettingIterator", "SettingList", "Settings"]

Filter = dict[str, Any]


class SettingList(list[Setting]):
    """A list of settings: one table in Jupyter, one line per setting in a REPL."""

    @overload
    def __getitem__(self, index: SupportsIndex) -> Setting: ...
    @overload
    def __getitem__(self, index: slice) -> SettingList: ...
    def __getitem__(self, index: SupportsIndex | slice) -> Setting | SettingList:
        if isinstance(index, slice):
            return SettingList(super().__getitem__(index))
        return super().__getitem__(index)

    def names(self) -> list[str]:
        return [s.name for s in self]

    def __repr__(self) -> str:
        if not self:
            return "SettingList([])"
        lines = ",\n".join(f"  {s!r}" for s in self)
        return f"SettingList([\n{lines}\n])"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        return html_rows(self, f"{len(self)} setting{'' if len(self) == 1 else 's'}")


def _list_filter(filter: Filter | None, name_like: str | None) -> Filter | None:
    parts = []
    if filter is not None:
        if not isinstance(filter, dict):
            raise TypeError(f"filter must be a dict such as {{'field', 'op', 'value'}}: {filter!r}")
        parts.append(filter)
    if name_like is not None:
        parts.append({"field": "name", "op": "like", "value": name_like})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"and": parts}


class _Requests:
    """The requests of every settings call, built once for both twins."""

    @staticmethod
    def create(name: str, value: Any, description: str | None) -> RequestOptions:
        body = {"name": name, "value": value, "description": description}
        return RequestOptions("POST", "/setting", json=body)

    @staticmethod
    def get(name_or_id: str) -> RequestOptions:
        path, params = setting_path(name_or_id)
        return RequestOptions("GET", path, params=params)

    @staticmethod
    def update(
        name_or_id: str,
        *,
        value: Any,
        description: str | NotGiven | None,
        name: str | NotGiven,
        if_version: int | None,
        fence: int | NotGiven | None,
    ) -> RequestOptions:
        body: dict[str, Any] = {}
        if not isinstance(value, NotGiven):
            body["value"] = value
        if not isinstance(description, NotGiven):
            body["description"] = description
        if not isinstance(name, NotGiven):
            body["name"] = name
        if not body:
            raise ValueError("nothing to update: give value=, description= or name=")
        path, params = setting_path(name_or_id)
        return RequestOptions(
            "PATCH", path, params=_fenced(params, fence), json=body, headers=_if_match(if_version)
        )

    @staticmethod
    def delete(
        name_or_id: str, if_version: int | None, fence: int | NotGiven | None
    ) -> RequestOptions:
        path, params = setting_path(name_or_id)
        return RequestOptions(
            "DELETE", path, params=_fenced(params, fence), headers=_if_match(if_version)
        )


def _fenced(params: dict[str, str], fence: int | NotGiven | None) -> dict[str, Any]:
    if isinstance(fence, NotGiven):
        return params
    if fence is None:
        # Almost always ``fence=lock.token`` after the lock was released: sending the write
        # unfenced would silently drop the protection the caller asked for.
        raise ValueError(
            "fence is None: the lock it came from is not held (a released lock has no token); "
            "leave fence out for a write that needs no lock"
        )
    if isinstance(fence, bool) or not isinstance(fence, int):
        raise TypeError(f"fence must be a lock's token (an int), got {fence!r}")
    return {**params, "fence": fence}


def _if_match(if_version: int | None) -> dict[str, str] | None:
    return None if if_version is None else {"If-Match": f'"{int(if_version)}"'}


class _Page(BaseModel):
    """An answer of ``GET /setting``: the settings, and where the listing goes on."""

    model_config = ConfigDict(defer_build=True)

    setting: list[Setting] = []
    total: int | None = None
    next: str | None = None
    """*Ours.* The cursor of the following page; a server without cursors leaves it out."""


@functools.cache
def _page_adapter() -> TypeAdapter[_Page | list[Setting]]:
    # Built on first use, not on import. From the raw JSON, pydantic reads each value as any
    # JSON, not node by node through JsonValue's Python checks: a page costs a third as much.
    return TypeAdapter(_Page | list[Setting])


class _Pager:
    """What a listing asks for: filter, order, how many; and the total, once a page told it."""

    def __init__(self, flt: Filter | None, order: str, limit: int | None, page_size: int) -> None:
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0 (or None for every setting)")
        if not 1 <= page_size <= 10_000:
            raise ValueError("page_size must be between 1 and 10000")
        self.flt, self.order, self.limit, self.page_size = flt, order, limit, page_size
        self.total: int | None = None

    def walk(self) -> _Walk:
        return _Walk(self)


class _Walk:
    """One pass through the pages: each follows the server's ``next`` cursor (keyset paging,
    so every page costs the same however deep), or, from a server without cursors, the offset.
    """

    def __init__(self, pager: _Pager) -> None:
        self.pager = pager
        self.fetched = 0
        self.after: str | None = None
        self.done = False

    def request(self) -> RequestOptions | None:
        pager = self.pager
        want = pager.page_size
        if pager.limit is not None:
            want = min(want, pager.limit - self.fetched)
        if self.done or want <= 0:
            return None
        params: dict[str, Any] = {"order": pager.order, "limit": want}
        if self.after is not None:
            params["after"] = self.after
        elif self.fetched:
            params["offset"] = self.fetched
        if pager.flt is not None:
            params["filter"] = dumps(pager.flt)
        return RequestOptions("GET", "/setting", params=params)

    def read(self, response: httpx.Response, want: int) -> list[Setting]:
        """The settings of one answer; notes the total and where the next page starts."""
        try:
            data = _page_adapter().validate_json(response.content)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            what = (
                "a body that is not JSON"
                if first["type"] == "json_invalid"
                else f"not a page of settings: {exc.error_count()} error(s), first: {first['msg']}"
            )
            raise APIResponseValidationError(
                f"the server answered {response.status_code} with {what}",
                response=response,
                body=response.text,
            ) from exc
        if isinstance(data, list):
            page, cursor, has_cursor = data, None, False
        else:
            page, cursor, has_cursor = data.setting, data.next, "next" in data.model_fields_set
            if data.total is not None:
                self.pager.total = data.total
        if not page and self.fetched == 0 and self.pager.total is None:
            self.pager.total = 0
        self.fetched += len(page)
        total = self.pager.total
        if has_cursor:
            self.after = cursor
            self.done = cursor is None or not page
        else:
            self.done = len(page) < want or (total is not None and self.fetched >= total)
        return page


class SettingIterator:
    """Every matching setting, fetched a page at a time as you iterate (``all()`` fetches all)."""

    def __init__(self, client: Client, pager: _Pager) -> None:
        self._client, self._pager = client, pager

    @property
    def total(self) -> int | None:
        """How many settings match, known after the first page."""
        return self._pager.total

    def __iter__(self) -> Iterator[Setting]:
        walk = self._pager.walk()
        while (options := walk.request()) is not None:
            response = self._client._send(options)
            yield from walk.read(response, (options.params or {})["limit"])

    def all(self) -> SettingList:
        return SettingList(self)


class AsyncSettingIterator:
    """The async twin of ``SettingIterator``: ``async for``, and ``await all()``."""

    def __init__(self, client: AsyncClient, pager: _Pager) -> None:
        self._client, self._pager = client, pager

    @property
    def total(self) -> int | None:
        return self._pager.total

    async def __aiter__(self) -> AsyncIterator[Setting]:
        walk = self._pager.walk()
        while (options := walk.request()) is not None:
            response = await self._client._send(options)
            for item in walk.read(response, (options.params or {})["limit"]):
                yield item

    async def all(self) -> SettingList:
        return SettingList([s async for s in self])


class Settings:
    """Settings through a ``Client``: ``client.settings``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, name: str, value: Any = None, description: str | None = None) -> Setting:
        """Create a setting; a taken name is a ``ConflictError``."""
        return self._client._fetch(_Requests.create(name, value, description), Setting, "setting")

    def get(self, name_or_id: str) -> Setting:
        """Read a setting by id (a uuid) or by name; ``ResourceNotFoundError`` if missing."""
        return self._client._fetch(_Requests.get(name_or_id), Setting, "setting")

    def exists(self, name_or_id: str) -> bool:
        try:
            self.get(name_or_id)
        except ResourceNotFoundError:
            return False
        return True

    def list(
        self,
        filter: Filter | None = None,
        *,
        name_like: str | None = None,
        limit: int | None = None,
        order: str = "name",
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> SettingIterator:
        """Iterate the settings that match, ``page_size`` per request, at most ``limit``.

        ``filter`` is Cloudomation's ``{"field", "op", "value"}`` (ops ``eq``, ``ne``, ``like``)
        with ``{"and": [...]}`` / ``{"or": [...]}``; ``name_like`` adds a ``like`` on the name
        (``%`` any text, ``_`` one character). ``order``: ``name``, ``created_at`` or
        ``modified_at``, with ``-`` to descend.
        """
        pager = _Pager(_list_filter(filter, name_like), order, limit, page_size)
        return SettingIterator(self._client, pager)

    def update(
        self,
        name_or_id: str,
        *,
        value: Any = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        name: str | NotGiven = NOT_GIVEN,
        if_version: int | None = None,
        fence: int | NotGiven | None = NOT_GIVEN,
    ) -> Setting:
        """Change the fields given (``None`` is a value: it stores ``null``).

        ``if_version``: refuse (``PreconditionFailedError``) if the setting changed since that
        version. ``fence``: a lock's token; refused (``FencingTokenError``) unless it still holds.
        """
        options = _Requests.update(
            name_or_id,
            value=value,
            description=description,
            name=name,
            if_version=if_version,
            fence=fence,
        )
        return self._client._fetch(options, Setting, "setting")

    def delete(
        self,
        name_or_id: str,
        *,
        if_version: int | None = None,
        fence: int | NotGiven | None = NOT_GIVEN,
    ) -> None:
        """Delete a setting; a locked one only by its holder, with ``fence=lock.token``."""
        self._client._call(_Requests.delete(name_or_id, if_version, fence), None)


class AsyncSettings:
    """Settings through an ``AsyncClient``: ``aclient.settings``."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(self, name: str, value: Any = None, description: str | None = None) -> Setting:
        """Create a setting; a taken name is a ``ConflictError``."""
        options = _Requests.create(name, value, description)
        return await self._client._fetch(options, Setting, "setting")

    async def get(self, name_or_id: str) -> Setting:
        """Read a setting by id (a uuid) or by name; ``ResourceNotFoundError`` if missing."""
        return await self._client._fetch(_Requests.get(name_or_id), Setting, "setting")

    async def exists(self, name_or_id: str) -> bool:
        try:
            await self.get(name_or_id)
        except ResourceNotFoundError:
            return False
        return True

    def list(
        self,
        filter: Filter | None = None,
        *,
        name_like: str | None = None,
        limit: int | None = None,
        order: str = "name",
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncSettingIterator:
        """Iterate the settings that match (see ``Settings.list``): ``async for s in ...``."""
        pager = _Pager(_list_filter(filter, name_like), order, limit, page_size)
        return AsyncSettingIterator(self._client, pager)

    async def update(
        self,
        name_or_id: str,
        *,
        value: Any = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        name: str | NotGiven = NOT_GIVEN,
        if_version: int | None = None,
        fence: int | NotGiven | None = NOT_GIVEN,
    ) -> Setting:
        """Change the fields given (see ``Settings.update``)."""
        options = _Requests.update(
            name_or_id,
            value=value,
            description=description,
            name=name,
            if_version=if_version,
            fence=fence,
        )
        return await self._client._fetch(options, Setting, "setting")

    async def delete(
        self,
        name_or_id: str,
        *,
        if_version: int | None = None,
        fence: int | NotGiven | None = NOT_GIVEN,
    ) -> None:
        """Delete a setting; a locked one only by its holder, with ``fence=lock.token``."""
        await self._client._call(_Requests.delete(name_or_id, if_version, fence), None)

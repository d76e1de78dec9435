"""``System``, ``Execution`` and ``Setting``: the objects a flow's ``handler`` receives and uses."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from .._base import RequestOptions
from .._client import Client
from .._constants import DEFAULT_LOCK_TIMEOUT
from .._exceptions import ConflictError, ResourceNotFoundError
from .._lock import SettingLock
from .._models import Execution as ExecutionRecord
from .._models import Setting as SettingRecord
from .._types import NOT_GIVEN

__all__ = [
    "Execution",
    "ExecutionError",
    "ExecutionSuccess",
    "LifecycleSignal",
    "Setting",
    "System",
]

log = logging.getLogger("cloudomation_kit.flow")

_SAVABLE = ("name", "value", "description")


class LifecycleSignal(BaseException):
    """Ends the flow at once; a ``BaseException`` so that ``except Exception`` cannot catch it."""

    status = "ENDED_SUCCESS"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)
        self.message = message


class ExecutionSuccess(LifecycleSignal):
    """Raised by ``this.success(message)``."""


class ExecutionError(LifecycleSignal):
    """Raised by ``this.error(message)``."""

    status = "ENDED_ERROR"


class System:
    """The flow's way into the workspace: ``system.setting(name)``, ``system.settings()``."""

    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client()
        self._locks: dict[str, SettingLock] = {}

    def setting(self, name: str) -> Setting:
        """The setting called ``name`` (or with that id); it need not exist until ``save()``."""
        return Setting(self, name)

    def settings(self, filter: dict[str, Any] | None = None) -> Iterator[Setting]:
        """Every setting (matching ``filter``), as ``Setting`` objects."""
        for record in self.client.settings.list(filter):
            yield Setting(self, record.name)


class Setting:
    """A setting seen from a flow: read, write, and use as a lock.

    Reads always go to the server, so they see the latest value. While this flow holds the lock
    on the setting, ``save()`` and ``delete()`` are fenced with its token.
    """

    def __init__(self, system: System, name: str) -> None:
        self._system = system
        self._key = name

    def __repr__(self) -> str:
        return f"<flow_api.Setting {self._key!r}>"

    @property
    def _lock(self) -> SettingLock | None:
        lock = self._system._locks.get(self._key)
        return lock if lock is not None and lock.locked() else None

    def _record(self) -> SettingRecord:
        return self._system.client.settings.get(self._key)

    def get(self, field: str) -> Any:
        """One field: ``get('value')``, ``get('id')``, ``get('created_at')``..."""
        record = self._record()
        data = record.model_dump()
        if field not in data:
            raise KeyError(f"a setting has no field {field!r}; fields: {', '.join(data)}")
        return data[field]

    def load(self, *fields: str) -> Any:
        """One field's value, a tuple for several, or every field as a dict for none."""
        data = self._record().model_dump()
        for field in fields:
            if field not in data:
                raise KeyError(f"a setting has no field {field!r}; fields: {', '.join(data)}")
        if not fields:
            return data
        if len(fields) == 1:
            return data[fields[0]]
        return tuple(data[f] for f in fields)

    def save(self, **fields: Any) -> Setting:
        """Create the setting with these fields, or update the fields given if it exists."""
        unknown = sorted(set(fields) - set(_SAVABLE))
        if unknown:
            raise TypeError(f"cannot save {', '.join(unknown)}; a setting has {_SAVABLE}")
        settings = self._system.client.settings
        lock = self._lock
        fence = lock.token if lock is not None else NOT_GIVEN
        if not fields:
            fields = {"value": None} if not settings.exists(self._key) else {}
            if not fields:
                return self
        try:
            settings.update(self._key, fence=fence, **fields)
        except ResourceNotFoundError:
            try:
                settings.create(
                    fields.get("name", self._key), fields.get("value"), fields.get("description")
                )
            except ConflictError:
                # Someone created it between our two requests: theirs exists, so update it.
                settings.update(self._key, fence=fence, **fields)
        if "name" in fields:
            self._key = fields["name"]
        return self

    def exists(self) -> bool:
        return self._system.client.settings.exists(self._key)

    def delete(self) -> None:
        lock = self._lock
        self._system.client.settings.delete(
            self._key, fence=lock.token if lock is not None else NOT_GIVEN
        )
        if lock is not None:
            self._system._locks.pop(self._key, None)
            lock._core.forget()

    def acquire(self, timeout: float | None = DEFAULT_LOCK_TIMEOUT) -> None:
        """Take the lock on this setting, waiting up to ``timeout`` seconds (``None``: forever).

        While waiting the execution shows ``WAITING_LOCK``; on timeout ``LockTimeoutError``.
        """
        lock = self._system.client.lock(self._key, timeout)
        lock.acquire()
        self._system._locks[self._key] = lock

    def release(self) -> None:
        """Free the lock. If this flow does not hold it, it is released for whoever does, as
        Cloudomation lets one flow release a lock another took."""
        lock = self._system._locks.pop(self._key, None)
        if lock is not None and lock.locked():
            lock.release()
            return
        self._system.client.locks.force_release(
            self._key, reason=f"released by {self._system.client.execution_name}"
        )


class Execution:
    """The running flow: ``this``. ``this.success(message)`` ends it, as in Cloudomation."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.id = client.execution().id

    def __repr__(self) -> str:
        return f"<flow_api.Execution {self.client.execution_name!r}>"

    def _record(self) -> ExecutionRecord:
        return self.client.executions.get(self.id)

    def get(self, field: str) -> Any:
        """One field of this execution's record: ``get('name')``, ``get('status')``..."""
        data = self._record().model_dump()
        if field not in data:
            raise KeyError(f"an execution has no field {field!r}; fields: {', '.join(data)}")
        return data[field]

    def load(self, *fields: str) -> Any:
        """Like ``Setting.load``: one value, a tuple, or everything as a dict."""
        data = self._record().model_dump()
        if not fields:
            return data
        values = tuple(data[f] for f in fields)
        return values[0] if len(values) == 1 else values

    def save(self, message: str | None = None) -> Execution:
        """Set the execution's message (shown to operators while it runs)."""
        self.client._send(_message_options(self.id, message))
        return self

    def log(self, *args: Any) -> None:
        """Write a line to the flow's log (stderr)."""
        log.info(" ".join(str(a) for a in args))

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def success(self, message: str | None = None) -> None:
        """End the flow now with ``ENDED_SUCCESS``."""
        raise ExecutionSuccess(message)

    def error(self, message: str | None = None) -> None:
        """End the flow now with ``ENDED_ERROR``."""
        raise ExecutionError(message)


def _message_options(execution_id: str, message: str | None) -> RequestOptions:
    return RequestOptions(
        "PATCH", f"/execution/{execution_id}", json={"message": message}, idempotent=True
    )

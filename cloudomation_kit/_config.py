"""Where a client's URL and credentials come from.

In order, the first that gives a value wins, field by field:

1. arguments passed to ``Client(...)``;
2. the environment: ``CLOUDOMATION_URL``, ``CLOUDOMATION_TOKEN``, or ``CLOUDOMATION_USER`` with
   ``CLOUDOMATION_PASSWORD`` (which log in);
3. a profile of ``~/.config/cloudomation-kit/config.toml`` (``$XDG_CONFIG_HOME`` is honoured, and
   ``CLOUDOMATION_CONFIG`` names another file). The profile is the ``profile`` argument, else
   ``CLOUDOMATION_PROFILE``, else ``default``:

       [default]
       url = "http://127.0.0.1:8000"
       token = "..."

       [staging]
       url = "https://staging.example.com"
       user = "me"
       password = "..."
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._constants import API_PREFIX
from ._exceptions import ConfigError

__all__ = ["ClientConfig", "config_path", "normalize_url", "resolve_config"]

ENV_URL = "CLOUDOMATION_URL"
ENV_TOKEN = "CLOUDOMATION_TOKEN"
ENV_USER = "CLOUDOMATION_USER"
ENV_PASSWORD = "CLOUDOMATION_PASSWORD"
ENV_PROFILE = "CLOUDOMATION_PROFILE"
ENV_CONFIG = "CLOUDOMATION_CONFIG"


@dataclass(frozen=True)
class ClientConfig:
    """A resolved configuration: a URL and either a token or a user name with a password."""

    url: str
    """The API base, always ending in ``/api/latest``."""
    token: str | None
    user: str | None
    password: str | None
    profile: str | None
    """The config-file profile used, if any field came from it."""

    def __repr__(self) -> str:
        # Never show secrets in logs or tracebacks.
        who = "token=***" if self.token else f"user={self.user!r}"
        return f"ClientConfig(url={self.url!r}, {who}, profile={self.profile!r})"


def normalize_url(url: str) -> str:
    """``http://host:8000``, ``.../`` or ``.../api/latest`` -> ``http://host:8000/api/latest``."""
    text = url.strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ConfigError(f"the URL must start with http:// or https://, got {url!r}")
    if not text.endswith(API_PREFIX):
        text += API_PREFIX
    return text


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file this environment points to (it need not exist)."""
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "cloudomation-kit" / "config.toml"


def _load_profile(path: Path, profile: str, explicit: bool) -> dict[str, Any]:
    if not path.is_file():
        if explicit:
            raise ConfigError(f"profile {profile!r} was asked for, but {path} does not exist")
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    section = data.get(profile)
    if section is None:
        if explicit:
            known = ", ".join(sorted(k for k, v in data.items() if isinstance(v, dict))) or "none"
            raise ConfigError(f"no profile {profile!r} in {path} (profiles: {known})")
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"[{profile}] in {path} must be a table")
    return section


def resolve_config(
    *,
    url: str | None = None,
    token: str | None = None,
    user: str | None = None,
    password: str | None = None,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Resolve URL and credentials from arguments, environment and config file (in that order)."""
    env = os.environ if env is None else env
    explicit_profile = profile is not None or bool(env.get(ENV_PROFILE))
    profile_name = profile or env.get(ENV_PROFILE) or "default"
    path = config_path(env)
    section = _load_profile(path, profile_name, explicit_profile)

    def pick(arg: str | None, env_name: str, key: str) -> tuple[str | None, bool]:
        if arg:
            return arg, False
        if env.get(env_name):
            return env[env_name], False
        value = section.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{key} in [{profile_name}] of {path} must be a string")
        return value or None, value is not None

    url_, u_file = pick(url, ENV_URL, "url")
    if not url_:
        raise ConfigError(
            f"no server URL: pass Client(url=...), set {ENV_URL}, "
            f"or put url in [{profile_name}] of {path}"
        )
    # Credentials travel together: a token from the arguments is not mixed with a file's password.
    if token or user or password:
        token_, user_, password_, c_file = token, user, password, False
    elif env.get(ENV_TOKEN) or env.get(ENV_USER) or env.get(ENV_PASSWORD):
        token_, user_, password_ = env.get(ENV_TOKEN), env.get(ENV_USER), env.get(ENV_PASSWORD)
        c_file = False
    else:
        token_, t_file = pick(None, ENV_TOKEN, "token")
        user_, _ = pick(None, ENV_USER, "user")
        password_, _ = pick(None, ENV_PASSWORD, "password")
        c_file = t_file or user_ is not None
    if not token_ and not (user_ and password_):
        if user_ or password_:
            missing = ENV_PASSWORD if user_ else ENV_USER
            raise ConfigError(f"{ENV_USER} and {ENV_PASSWORD} go together: set {missing} too")
        raise ConfigError(
            f"no token: pass Client(token=...), set {ENV_TOKEN} "
            f"(or {ENV_USER} and {ENV_PASSWORD} to log in), "
            f"or put token in [{profile_name}] of {path}"
        )
    return ClientConfig(
        url=normalize_url(url_),
        token=token_ or None,
        user=user_ or None,
        password=password_ or None,
        profile=profile_name if (u_file or c_file) else None,
    )

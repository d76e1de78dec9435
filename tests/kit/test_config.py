"""Where URL and credentials come from: arguments, then environment, then the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudomation_kit import Client, ConfigError, resolve_config
from cloudomation_kit._config import normalize_url

FILE = """
[default]
url = "http://file-default:8000"
token = "file-default-token"

[staging]
url = "http://file-staging:8000/api/latest/"
user = "stan"
password = "pw"
"""


@pytest.fixture
def config_file(clean_env: Path) -> Path:
    path = clean_env / "cloudomation-kit" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(FILE)
    return path


def test_missing_url_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="CLOUDOMATION_URL"):
        Client()


def test_missing_token_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDOMATION_URL", "http://env:1")
    with pytest.raises(ConfigError, match="CLOUDOMATION_TOKEN"):
        Client()


def test_user_without_password_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDOMATION_URL", "http://env:1")
    monkeypatch.setenv("CLOUDOMATION_USER", "ann")
    with pytest.raises(ConfigError, match="CLOUDOMATION_PASSWORD"):
        resolve_config()


def test_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDOMATION_URL", "http://env:1/")
    monkeypatch.setenv("CLOUDOMATION_TOKEN", "env-token")
    config = resolve_config()
    assert (config.url, config.token) == ("http://env:1/api/latest", "env-token")
    assert config.profile is None
    assert "env-token" not in repr(config)


def test_file_default_profile(config_file: Path) -> None:
    config = resolve_config()
    assert config.url == "http://file-default:8000/api/latest"
    assert config.token == "file-default-token"
    assert config.profile == "default"


def test_environment_beats_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDOMATION_URL", "http://env:1")
    monkeypatch.setenv("CLOUDOMATION_TOKEN", "env-token")
    config = resolve_config()
    assert (config.url, config.token) == ("http://env:1/api/latest", "env-token")


def test_arguments_beat_environment_and_file(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDOMATION_URL", "http://env:1")
    monkeypatch.setenv("CLOUDOMATION_TOKEN", "env-token")
    config = resolve_config(url="http://arg:2/api/latest", token="arg-token")
    assert (config.url, config.token) == ("http://arg:2/api/latest", "arg-token")


def test_field_by_field_env_url_with_file_token(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDOMATION_URL", "http://env:1")
    config = resolve_config()
    assert (config.url, config.token) == ("http://env:1/api/latest", "file-default-token")


def test_profile_from_environment(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDOMATION_PROFILE", "staging")
    config = resolve_config()
    assert config.url == "http://file-staging:8000/api/latest"
    assert (config.token, config.user, config.password) == (None, "stan", "pw")
    assert config.profile == "staging"


def test_profile_argument_beats_environment(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDOMATION_PROFILE", "staging")
    assert resolve_config(profile="default").token == "file-default-token"


def test_unknown_profile_lists_the_known_ones(config_file: Path) -> None:
    with pytest.raises(ConfigError, match=r"no profile 'prod'.*default, staging"):
        resolve_config(profile="prod")


def test_config_file_named_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text('[default]\nurl = "http://other:3"\ntoken = "t"\n')
    monkeypatch.setenv("CLOUDOMATION_CONFIG", str(other))
    assert resolve_config().url == "http://other:3/api/latest"


def test_broken_file_is_a_config_error(config_file: Path) -> None:
    config_file.write_text("[default\n")
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_config()


@pytest.mark.parametrize(
    "url",
    ["http://h:1", "http://h:1/", "http://h:1/api/latest", "http://h:1/api/latest/", " http://h:1"],
)
def test_url_with_or_without_api_prefix(url: str) -> None:
    assert normalize_url(url) == "http://h:1/api/latest"


def test_url_without_scheme_is_refused() -> None:
    with pytest.raises(ConfigError, match="http"):
        normalize_url("h:1")

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.fixture
def kernel_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a notebook's kernel: ours without CLOUDOMATION_*, and no config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDOMATION_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    return env

"""``ckit serve``, ``ckit tui``, ``ckit demo``: hand the rest of the command line to another
package, imported only then (``cloudomation_kit`` imports neither ``mock_server`` nor ``tui``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import cast

from ._common import CliError, Exit

__all__ = ["DELEGATES", "add_parsers", "run"]

# command -> (module, extra leading arguments, what to install, help)
DELEGATES: dict[str, tuple[str, list[str], str, str]] = {
    "serve": (
        "mock_server.__main__",
        [],
        "cloudomation-kit[server]",
        "run the bundled server (the options of python -m mock_server; see ckit serve --help)",
    ),
    "tui": (
        "tui.__main__",
        [],
        "cloudomation-kit[tui]",
        "the terminal UI for settings and locks (see ckit tui --help)",
    ),
    "demo": (
        "tui.__main__",
        ["--demo"],
        "cloudomation-kit[tui]",
        "the terminal UI on an embedded server with demo data (see ckit demo --help)",
    ),
}


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for command, (_, _, _, help_text) in DELEGATES.items():
        commands.add_parser(command, help=help_text, add_help=False)


def run(command: str, argv: list[str]) -> int:
    """Import the command's module and call its ``main(argv)``."""
    module_name, leading, extra, _ = DELEGATES[command]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise CliError(
            f"ckit {command} needs the {extra.split('[')[1].rstrip(']')} extra: "
            f"pip install '{extra}' ({exc})",
            Exit.USAGE,
        ) from exc
    entry = getattr(module, "main", None)
    if not callable(entry):
        raise CliError(f"{module_name} has no main(argv) function", Exit.USAGE)
    main = cast(Callable[[list[str]], object], entry)
    try:
        result = main([*leading, *argv])
    except SystemExit as exc:
        result = exc.code
    if result is None:
        return Exit.OK
    if isinstance(result, int):
        return result
    print(result, file=sys.stderr)
    return Exit.NOT_DONE

"""Shared CLI state: the Typer app, the Rich consoles, and helpers to render reports.

The CLI is the only layer that prints. Each command module does
``from edgeport.cli._common import app, console`` and decorates its commands.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

__all__ = ["app", "console", "err_console", "state", "print_json", "write_json"]

app = typer.Typer(
    name="edgeport",
    help="Edge AI toolkit: inspect, convert, compress, run and benchmark models for devices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


class _State:
    debug: bool = False


state = _State()


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")) -> None:
    state.debug = debug


def _default(o: Any):
    if hasattr(o, "to_dict"):
        return o.to_dict()
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(o)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=_default) + "\n")


def write_json(obj: Any, path: str) -> None:
    from edgeport._fileio import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(obj, indent=2, default=_default) + "\n").encode())

"""The ``edgeport`` console script: Typer app + error mapping.

Errors of type :class:`edgeport.errors.EdgeportError` become one line on
stderr and exit code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import sys

from edgeport.cli._common import app, err_console, state
from edgeport.errors import EdgeportError

__all__ = ["main", "app"]

# One module per command group; each registers its commands on `app` when imported.
_COMMAND_MODULES = [
    "edgeport.cli.inspect_cmd",
    "edgeport.cli.run_cmd",
    "edgeport.cli.bench_cmd",
    "edgeport.cli.demo_cmd",
    "edgeport.cli.convert_cmd",
    "edgeport.cli.compress_cmd",
    "edgeport.cli.verify_cmd",
]


def _load_commands() -> None:
    for name in _COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:  # a real missing dependency inside the module
                raise


def main(argv: list[str] | None = None) -> int:
    _load_commands()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    state.debug = debug
    try:
        # standalone_mode: Typer/click handle usage errors themselves (message + exit 2) and turn
        # typer.Exit(code) into SystemExit; our own errors propagate to here.
        app(args=argv, prog_name="edgeport", standalone_mode=True)
    except SystemExit as e:
        code = e.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    except EdgeportError as e:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {e.one_line()}", highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        return 130
    except OSError as e:  # the file system said no (permissions, missing folder, disk full): a user error
        if debug:
            raise
        name = e.filename2 or e.filename  # os.replace(tmp, dest): name the destination, not the temporary file
        where = f": {name}" if name else ""
        err_console.print(f"[bold red]error:[/] {e.strerror or type(e).__name__}{where} "
                          "(check the path, its permissions and the free space)", highlight=False, soft_wrap=True)
        return 2
    except Exception as e:
        if debug:
            raise
        err_console.print(f"[bold red]internal error:[/] {type(e).__name__}: {e} (run with --debug for the traceback)",
                          highlight=False, soft_wrap=True)
        return 1
    return 0


def _entry() -> None:  # pragma: no cover
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

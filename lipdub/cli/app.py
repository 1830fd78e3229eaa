"""The ``lipdub`` command: ``lipdub VIDEO --audio AUDIO`` plus sub-commands."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from lipdub import __version__, signals
from lipdub.cli.argv import expand_pads, usage_error_line
from lipdub.cli.config import load_default_map
from lipdub.cli.render import err_console
from lipdub.errors import LipdubError
from lipdub.faces.native_log import native_stderr_hidden

DEFAULT_COMMAND = "dub"
#: Options of ``lipdub`` itself (everything else before a command goes to ``dub``).
ROOT_OPTIONS = ("--help", "-h", "--version", "--install-completion", "--show-completion")
INTERRUPTED = 130
INTERRUPTED_MESSAGE = "[bold red]interrupted[/]: nothing partial was left behind"


def _interrupted() -> int:
    """Say the run was stopped (by Ctrl-C, SIGTERM or SIGHUP); its exit code."""
    signum = signals.last_signal()
    if signum is None:
        err_console.print(INTERRUPTED_MESSAGE)
    else:
        name = signals.signal_name(signum)
        err_console.print(f"[bold red]stopped by {name}[/]: nothing partial was left behind")
    return signals.interrupt_exit_code()


class DefaultCommandGroup(TyperGroup):
    """Runs ``dub`` when the first argument is not a sub-command (``lipdub v.mp4 --audio a``)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ROOT_OPTIONS:
            args = [DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=DefaultCommandGroup,
    help="Re-sync the lips of people in a video to a new audio track.\n\n"
    "Usage: lipdub VIDEO --audio AUDIO [-o OUT] [options]  (the `dub` command), "
    "or one of the commands below.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lipdub {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Re-sync the lips of people in a video to a new audio track."""


#: The core commands' typer infos, once they are added (see :func:`register_commands`).
_core_commands: list[Any] = []


def register_commands() -> None:
    """Add the core commands, then every plugin's, to :data:`app`: once per process.

    Calling again adds nothing new; it only puts back commands that something removed from
    ``app.registered_commands`` (e.g. a test restoring an older list).
    """
    from lipdub import plugins
    from lipdub.cli import command_list

    if _core_commands:
        command_list.ensure(app, _core_commands)
    else:
        before = command_list.snapshot(app)
        _add_core_commands()
        _core_commands.extend(command_list.added_since(app, before))
    plugins.register_commands(app)


#: The old private name.
_register_commands = register_commands


def _add_core_commands() -> None:
    from lipdub.cli import (
        batch_cmd,
        dub_cmd,
        eval_cmd,
        faces_cmd,
        models_cmd,
        plugins_cmd,
        train_cmd,
        verify_cmd,
    )

    dub_cmd.register(app)
    batch_cmd.register(app)
    faces_cmd.register(app)
    plugins_cmd.register(app)
    models_cmd.register(app)
    eval_cmd.register(app)
    train_cmd.register(app)
    verify_cmd.register(app)
    try:
        from lipdub.cli import features_cmd
    except ImportError:  # pragma: no cover - optional module
        features_cmd = None
    if features_cmd is not None:
        features_cmd.register(app)


def _show_warning(message: Any, category: Any, filename: str, lineno: int, *_: Any) -> None:
    from rich.markup import escape

    if issubclass(category, (DeprecationWarning, PendingDeprecationWarning)):
        # Libraries' notes to their developers: not for the user's terminal.
        logging.getLogger("lipdub").debug("%s:%s: %s", filename, lineno, message)
        return
    text = escape(" ".join(str(message).split()))
    err_console.print(f"[yellow]warning:[/] {text}", highlight=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: one clear line on stderr and a non-zero exit on errors."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("LIPDUB_DEBUG") == "1"
    verbose = any(arg in ("-v", "-vv", "--verbose") for arg in args)
    # Native libraries (mediapipe/TFLite) log straight to fd 2; only -v/--debug shows that.
    with native_stderr_hidden(enabled=not (debug or verbose)):
        return _main(args, debug)


def _main(args: list[str], debug: bool) -> int:
    warnings.showwarning = _show_warning
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        from lipdub.plugins import load_plugins

        load_plugins()
        register_commands()
        args = expand_pads(args)
        config = load_default_map(typer.main.get_command(app))  # config.toml defaults
        with signals.stop_signals_interrupt():  # SIGTERM / SIGHUP act like Ctrl-C
            result = app(args=args, prog_name="lipdub", standalone_mode=False, default_map=config)
        if isinstance(result, int) and not isinstance(result, bool) and result != 0:
            if result == INTERRUPTED:  # typer turns Ctrl-C into this exit code
                return _interrupted()
            return result
    except LipdubError as exc:
        if debug:
            raise
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        return exc.exit_code
    except KeyboardInterrupt:
        return _interrupted()
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:  # e.g. --show-completion, which exits by itself
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    except typer.Abort:
        err_console.print("[bold red]aborted[/]")
        return 1
    except Exception as exc:  # noqa: BLE001 - the CLI must not show raw tracebacks
        if debug:
            raise
        from typer._click.exceptions import ClickException, UsageError

        if isinstance(exc, UsageError):
            line = usage_error_line(exc, args)
            err_console.print(
                f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True
            )
            return exc.exit_code
        if isinstance(exc, ClickException):
            exc.show()
            return exc.exit_code
        first = str(exc).splitlines()[0] if str(exc) else ""
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {escape(first)} "
            "(run with --debug for details)",
            highlight=False,
            soft_wrap=True,
        )
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The `octopus-async` command: its parser, and the exit status each failure gives.

Each command module adds its commands with `register(subparsers)`, and sets each one's
handler as its `run` default: it takes the parsed arguments and returns the exit status. A
command that sets `skip_teardown` leaves the process without the interpreter's teardown.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .._version import __version__
from ..errors import InvalidRequestError, OctopusError
from . import account, batch, demo, sandbox, worker
from .console import CommandError, fail

__all__ = ["build_parser", "main"]

COMMANDS = (demo, sandbox, account, batch, worker)

_EPILOG = (
    "exit status: 0 done, 1 the API or the run failed, 2 a usage mistake (an argument, a "
    "setting, the credentials, a port in use), 130 interrupted"
)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each line of a description or epilog wrapped on its own; each option's default after
    its help, unless it is empty (None, False, nothing): such options say in their help
    what leaving them out does."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text
        return "\n".join(fill(line, width, indent) for line in text.splitlines())

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if not action.default:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """A parser (subcommands get one too) whose errors are one line and exit status 2."""

    def __init__(
        self, *, formatter_class: type[argparse.HelpFormatter] = _HelpFormatter, **kw: Any
    ) -> None:
        super().__init__(formatter_class=formatter_class, **kw)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command; each command's handler is its `run` default."""
    parser = _Parser(
        prog="octopus-async",
        description="The Octopus Cards API from a shell: a demo, a local sandbox, and "
        "everyday reads of an account.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"octopus-async {__version__}")
    parser.set_defaults(run=None, skip_teardown=False)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command `argv` (the process arguments by default); return its exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a mistake already reported
        return stop.code if isinstance(stop.code, int) else 2
    if args.run is None:
        parser.print_help()
        return 0
    status = _run(args)
    if args.skip_teardown:
        # Temporal's Rust threads may call into Python while the interpreter tears itself
        # down, which aborts it (temporalio/sdk-python#300). The command has closed what it
        # opened by now: leave without that teardown.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command; return its exit status, failures reported as one line."""
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    except CommandError as error:
        fail(str(error))
        return error.status
    except InvalidRequestError as error:  # a setting the SDK refused before sending anything
        fail(str(error))
        return 2
    except OctopusError as error:
        fail(str(error))
        return 1
    return status

"""The error convention of every command, and the error it raises for bad input.

Every command: bad input is ONE line `vidrec CMD: error: ...` on stderr and exit status 2.
Commands raise UsageError for bad input (directly, from CommandParser, or through
`bad_input()` around the code that checks input); `command` turns it into that line.
Errors raised after the input was accepted keep their traceback: they are not bad input.
The dispatcher that finds a command by name is `vidrec.cli`, the top floor.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from typing import Callable, Iterator


class UsageError(Exception):
    """Bad input to a command: printed as one line, exit status 2."""


class CommandParser(argparse.ArgumentParser):
    """argparse with the vidrec convention: a bad flag is a UsageError, not usage + exit."""

    def error(self, message: str):
        raise UsageError(message)


def fail(name: str, message: object) -> int:
    """Prints `vidrec NAME: error: MESSAGE` on one line to stderr; returns 2."""
    print(f"vidrec {name}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | None:
    """The parsed flags, or None after --help (printed). Bad flags raise UsageError."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exit_:  # only --help (and --version) exit from a CommandParser
        if exit_.code:
            raise UsageError(f"bad arguments (exit status {exit_.code})") from None
        return None


@contextlib.contextmanager
def bad_input(*errors: type[BaseException]) -> Iterator[None]:
    """Turns the given errors (default ValueError, FileNotFoundError) into UsageError.

    Wrap only the code that checks a command's input, never the work itself.
    """
    try:
        yield
    except errors or (ValueError, FileNotFoundError) as err:
        raise UsageError(str(err)) from err


def command(name: str, parser: Callable[[], argparse.ArgumentParser] | None = None
            ) -> Callable[[Callable[..., int | None]], Callable[..., int]]:
    """Decorates a command's main: a UsageError becomes one line and exit status 2.

    With `parser` (a function building the command's CommandParser), the wrapper
    parses argv, returns 0 after --help, and calls `main(args)` with the namespace;
    without, `main(argv)` gets the argument list. Either way the result is
    `run(argv=None) -> int` (argv defaults to sys.argv[1:]).
    """
    def decorate(main: Callable[..., int | None]) -> Callable[..., int]:
        @functools.wraps(main)
        def run(argv: list[str] | None = None) -> int:
            argv = list(sys.argv[1:] if argv is None else argv)
            try:
                if parser is None:
                    return main(argv) or 0
                args = parse(parser(), argv)
                return 0 if args is None else main(args) or 0
            except UsageError as err:
                return fail(name, err)
        return run
    return decorate


def wants_help(argv: list[str]) -> bool:
    """Whether a command's arguments ask for its help (which must not start TensorFlow)."""
    return any(a in ("-h", "--help") for a in argv)

"""The `vidrec` command: a tiny dispatcher to each package's own entry point.

Subcommand modules are imported only when their command runs, so `vidrec
--help` is instant; `vidrec COMMAND --help` imports only the command's parser
module (tests/test_cli_start.py: no TensorFlow, Keras or Beam for any command).

Quiet start: TensorFlow prints C++ start-up lines on import and on its first
device query (the oneDNN notice, "Could not find cuda drivers", a cuInit ERROR
on a machine without a GPU). Since TF 2.19 `TF_CPP_MIN_LOG_LEVEL` no longer
silences them (tensorflow/tensorflow #100442, open), so `start_tensorflow`
imports TensorFlow and lists its devices with file descriptor 2 captured, and
passes on every line but those (`TF_NOISE`). oneDNN stays on (switching it off
with TF_ENABLE_ONEDNN_OPTS=0 would change the numerics): only its notice goes.
A user's own `TF_CPP_MIN_LOG_LEVEL` is respected; 0 shows everything.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import os
import re
import sys
import tempfile
from typing import Callable, Iterator

# name -> (module, function, one-line description)
COMMANDS = {
    "synth": ("pipeline.cli", "synth_main",
              "write a synthetic action dataset in the HMDB51 layout"),
    "convert": ("pipeline.cli", "convert_main",
                "Beam job: videos + split files -> sharded TFRecords + manifest.json"),
    "inspect": ("report.inspect_data", "main",
                "look at a converted dataset: counts, lengths, failures, a contact sheet"),
    "train": ("trainer.cli", "train_main",
              "train a frame, pooled or recurrent model (MirroredStrategy)"),
    "evaluate": ("trainer.cli", "evaluate_main",
                 "clip- and video-level evaluation of a run -> eval_<split>.json"),
    "predict": ("trainer.cli", "predict_main", "top-k classes of raw video files"),
    "embed": ("trainer.cli", "embed_main",
              "cache a frame model's per-frame embeddings for fast training/tuning"),
    "tune": ("tuning.cli", "main",
             "KerasTuner search over RNN type, hidden size and chunk length"),
    "compare": ("report.cli", "main",
                "turn runs into report.md with confidence intervals and plots"),
    "study": ("vidrec.study.cli", "main",
              "run or resume a whole study from its TOML spec: splits x runs x seeds"),
    "demo": ("vidrec.demo", "main", "the whole experiment end to end (studies/demo.toml)"),
}
# Commands that start TensorFlow themselves, only once their cheap checks passed (the
# dispatcher starts it, quietly, before importing any other command's module).
STARTS_TENSORFLOW_ITSELF = {"demo", "compare"}
NEVER_IMPORTS_TENSORFLOW = {"convert", "study"}  # convert: pipeline.records; study: its jobs do


# --------------------------------------------------------------------------- error convention
# Every command: bad input is ONE line `vidrec CMD: error: ...` on stderr and exit status 2.
# Commands raise UsageError for bad input (directly, from CommandParser, or through
# `bad_input()` around the code that checks input); `command` turns it into that line.
# Errors raised after the input was accepted keep their traceback: they are not bad input.


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


# --------------------------------------------------------------------------- quiet start

# TensorFlow's C++ start-up lines that say nothing a user can act on (see the module doc).
TF_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|oneDNN custom operations are on"
    r"|Could not find cuda drivers on your machine"
    r"|failed call to cuInit"
    r"|cpu_feature_guard\.cc.*This TensorFlow binary is optimized"
    r"|^To enable the following instructions: .*rebuild TensorFlow"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation placer already registered"
    r"|TF-TRT Warning: Could not find TensorRT")
DEFAULT_TF_LOG_LEVEL = "2"  # C++ warnings and info hidden, errors shown


def quiet_tensorflow_wanted() -> bool:
    """Whether start-up noise is filtered: unless the user asked for TF's info lines."""
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip() != "0"


@contextlib.contextmanager
def filtered_stderr(noise: re.Pattern = TF_NOISE) -> Iterator[None]:
    """Captures file descriptor 2 (C++ logs included); passes on the lines `noise` misses.

    The kept lines are written when the block ends (also when it raises).
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to filter
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not noise.search(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


_STARTED = False


def start_tensorflow() -> None:
    """Imports TensorFlow and lists its physical devices, without the start-up noise.

    Sets `TF_CPP_MIN_LOG_LEVEL` to 2 unless the user set it. Listing physical
    devices (where the cuInit line comes from) does not initialise the runtime, so
    logical devices can still be configured afterwards (`trainer.distribute`).
    Idempotent.
    """
    global _STARTED
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", DEFAULT_TF_LOG_LEVEL)
    if _STARTED:
        return
    quiet = filtered_stderr() if quiet_tensorflow_wanted() else contextlib.nullcontext()
    with quiet:
        import tensorflow as tf

        tf.config.list_physical_devices()
    _STARTED = True


def wants_help(argv: list[str]) -> bool:
    """Whether a command's arguments ask for its help (which must not start TensorFlow)."""
    return any(a in ("-h", "--help") for a in argv)


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: vidrec COMMAND [options]   (vidrec COMMAND --help for a command's options)",
             "", "How important is recurrence for video classification?", "", "commands:"]
    lines += [f"  {name:<{width}}  {desc}" for name, (_, _, desc) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"vidrec: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", DEFAULT_TF_LOG_LEVEL)
    if (name not in STARTS_TENSORFLOW_ITSELF | NEVER_IMPORTS_TENSORFLOW
            and not wants_help(rest)):
        start_tensorflow()
    module, function, _ = COMMANDS[name]
    return getattr(importlib.import_module(module), function)(rest) or 0


if __name__ == "__main__":
    sys.exit(main())

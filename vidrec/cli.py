"""The `vidrec` command: a tiny dispatcher to each package's own entry point.

Subcommand modules are imported only when their command runs, so `vidrec
--help` is instant; `vidrec COMMAND --help` imports only the command's parser
module (tests/test_vidrec_cli.py: no TensorFlow, Keras or Beam for any command).

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

import contextlib
import importlib
import os
import re
import sys
import tempfile
from typing import Iterator

from vidrec.core.errors import wants_help

# name -> (module, function, one-line description)
COMMANDS = {
    "synth": ("pipeline.cli", "synth_main",
              "write a synthetic action dataset in the HMDB51 layout"),
    "camera": ("pipeline.cli", "camera_main",
               "write a small real-footage dataset: photographs filmed by a moving camera"),
    "convert": ("pipeline.cli", "convert_main",
                "Beam job: videos + split files -> sharded TFRecords + manifest.json"),
    "inspect": ("pipeline.inspection", "main",
                "look at a converted dataset: counts, lengths, failures, a contact sheet"),
    "train": ("trainer.cli", "train_main",
              "train one of the models in trainer/registry.py (MirroredStrategy)"),
    "evaluate": ("trainer.cli", "evaluate_main",
                 "clip- and video-level evaluation of a run -> eval_<split>.json"),
    "predict": ("trainer.cli", "predict_main", "top-k classes of raw video files"),
    "embed": ("trainer.cli", "embed_main",
              "cache a frame model's per-frame embeddings for fast training/tuning"),
    "tune": ("tuning.cli", "main",
             "KerasTuner search over the temporal part: family, its sizes, width, chunk"),
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

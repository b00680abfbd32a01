"""The `vidrec` command: a tiny dispatcher to each package's own entry point.

Subcommand modules are imported only when their command runs, so `vidrec
--help` is instant and `vidrec synth` never imports Keras.
"""

from __future__ import annotations

import importlib
import os
import sys

# name -> (module, function, one-line description)
COMMANDS = {
    "synth": ("pipeline.cli", "synth_main",
              "write a synthetic action dataset in the HMDB51 layout"),
    "convert": ("pipeline.cli", "convert_main",
                "Beam job: videos + split files -> sharded TFRecords + manifest.json"),
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
    "demo": ("vidrec.demo", "main", "the whole experiment end to end"),
}


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
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out
    module, function, _ = COMMANDS[name]
    return getattr(importlib.import_module(module), function)(rest) or 0


if __name__ == "__main__":
    sys.exit(main())

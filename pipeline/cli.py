"""Entry points of `vidrec synth` and `vidrec convert`.

Both follow the `vidrec.cli` convention: bad input is one line
``vidrec NAME: error: ...`` on stderr and exit status 2.
"""

from __future__ import annotations

import argparse

from vidrec.core import errors


def build_synth_parser() -> argparse.ArgumentParser:
    from pipeline import synth  # here: `vidrec convert` does not need it

    p = errors.CommandParser(
        prog="vidrec synth",
        description="Write a synthetic action dataset in exactly the HMDB51 layout: "
        "OUT/videos/<class>/<clip>.avi and OUT/splits/<class>_test_split{1,2,3}.txt. "
        "Order-only pairs (grow/shrink, fade_in/fade_out, move_up/move_down) share "
        "every single frame's distribution, so only frame order tells them apart; "
        "square and cross are told apart by one frame.")
    p.add_argument("out", help="output folder (local or gs://)")
    p.add_argument("--classes", default=",".join(synth.ALL_CLASSES),
                   help="comma-separated classes (default: all %(default)s)")
    p.add_argument("--clips-per-class", type=int, default=synth.SynthConfig.clips_per_class,
                   help="clips per class (default %(default)s)")
    p.add_argument("--frames", type=int, default=synth.SynthConfig.frames,
                   help="frames per clip (default %(default)s)")
    p.add_argument("--size", type=int, default=synth.SynthConfig.size,
                   help="frame width and height in pixels (default %(default)s)")
    p.add_argument("--fps", type=float, default=synth.SynthConfig.fps,
                   help="frame rate written in the AVI header (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    return p


@errors.command("synth", build_synth_parser)
def synth_main(args: argparse.Namespace) -> int:
    """`vidrec synth`: returns 0, or 2 after a one-line error (nothing written)."""
    from pipeline import synth

    with errors.bad_input(ValueError):
        cfg = synth.SynthConfig(
            out=args.out, classes=tuple(c for c in args.classes.split(",") if c),
            clips_per_class=args.clips_per_class, frames=args.frames, size=args.size,
            fps=args.fps, seed=args.seed)
    counts = synth.generate(cfg)
    print(f"wrote {sum(counts.values())} clips of {len(counts)} classes to {args.out}/videos "
          f"and split files to {args.out}/splits")
    return 0


def convert_main(argv: list[str]) -> int:
    """`vidrec convert`: its --help from the light `pipeline.config`, without Beam."""
    if errors.wants_help(argv):
        from pipeline import config

        config.build_parser().print_help()
        return 0
    from pipeline import convert  # Beam and TensorFlow are imported only for the conversion

    return convert.main(argv)

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


def build_camera_parser() -> argparse.ArgumentParser:
    from pipeline import camera  # here: `vidrec convert` does not need it

    p = errors.CommandParser(
        prog="vidrec camera",
        description="Write a small REAL-footage dataset in exactly the HMDB51 layout: real "
        "photographs filmed by a virtual camera that pans, zooms or rolls, one source film "
        "per photograph. A pair's classes (pan_left/pan_right, zoom_in/zoom_out, "
        "rotate_cw/rotate_ccw) differ only in the motion's direction: one frame tells the "
        "pair, never the direction (the single-frame ceiling is 1/pairs). `make footage` "
        "caches the photographs of Debian's opencv-doc and python3-skimage in the default "
        "--images folder.")
    p.add_argument("out", help="output folder (local or gs://)")
    p.add_argument("--images", default=camera.DEFAULT_IMAGES,
                   help="folder of JPEG/PNG photographs, one source film each "
                   "(default %(default)s)")
    p.add_argument("--classes", default=",".join(camera.DEFAULT_CLASSES),
                   help=f"comma-separated classes of {', '.join(camera.ALL_CLASSES)} "
                   "(default %(default)s)")
    defaults = camera.CameraConfig(out="")
    p.add_argument("--clips-per-film", type=int, default=defaults.clips_per_film,
                   help="clips of each class per photograph (default %(default)s)")
    p.add_argument("--frames", type=int, default=defaults.frames,
                   help="frames per clip (default %(default)s)")
    p.add_argument("--size", type=int, default=defaults.size,
                   help="frame width and height in pixels (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    return p


@errors.command("camera", build_camera_parser)
def camera_main(args: argparse.Namespace) -> int:
    """`vidrec camera`: returns 0, or 2 after a one-line error (nothing written)."""
    from pipeline import camera

    with errors.bad_input(ValueError):
        cfg = camera.CameraConfig(
            out=args.out, images=args.images,
            classes=tuple(c for c in args.classes.split(",") if c),
            clips_per_film=args.clips_per_film, frames=args.frames, size=args.size,
            seed=args.seed)
        camera.find_images(cfg.images)
    counts = camera.generate(cfg)
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

"""One tuning trial on frames vs one on cached embeddings, same model and data, same run.

    python benchmarks/bench_tune_cache.py [--encoder vgg16] [--size 64] [--epochs 2]

Both trials are the same recurrent hyperparameters on the same videos with the
encoder frozen (initialised from a frame run, as in the original study's
workflow); the frames trial runs the frozen encoder on every frame of every
step, the cached trial reads `vidrec embed`'s embeddings. Prints seconds per
trial, the ratio, and the one-off cost of `vidrec embed`.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoder", default="vgg16")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--clips-per-class", type=int, default=8)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--out", default=None, help="work folder (default: a temp dir)")
    args = p.parse_args(argv)

    import keras_tuner

    from pipeline import convert, schema, synth
    from trainer import distribute, embed, train
    from trainer.config import TrainConfig
    from tuning.hypermodel import TemporalHyperModel
    from tuning.space import SearchSpace

    root = args.out or tempfile.mkdtemp(prefix="bench_tune_cache_")
    classes = ("grow", "shrink", "square", "cross")
    synth.generate(synth.SynthConfig(out=f"{root}/raw", classes=classes,
                                     clips_per_class=args.clips_per_class, frames=16,
                                     size=args.size))
    assert convert.main(["--videos", f"{root}/raw/videos", "--splits", f"{root}/raw/splits",
                               "--split", "1", "--output", f"{root}/data", "--frame-size",
                               str(args.size), "--overwrite"]) == 0
    common = dict(data=f"{root}/data", encoder=args.encoder, weights="none", batch_size=4,
                  augment="none", chunk_length=8)
    frame_cfg = TrainConfig(out=f"{root}/frame", model="frame", epochs=1, steps_per_epoch=2,
                            **common)
    strategy = distribute.make_strategy(frame_cfg)
    train.train(frame_cfg, strategy)
    start = time.time()
    embed.embed(f"{root}/data", frame_cfg.out, f"{root}/features", batch_size=64)
    embed_s = time.time() - start

    space = SearchSpace(temporal_types=("lstm",), bidirectional=(False,), hidden=(64, 64),
                        chunk_length=(8, 8), learning_rate=(1e-3, 1e-3), dropout=(0.1, 0.1))
    base = TrainConfig(out=f"{root}/unused", model="recurrent", epochs=args.epochs, **common)
    variants = {
        "frames (frozen encoder)": dataclasses.replace(base, init_from=frame_cfg.out,
                                                       freeze_encoder=True),
        "cached features": dataclasses.replace(base, features=f"{root}/features"),
    }
    seconds = {}
    for name, cfg in variants.items():
        manifest = schema.read_manifest(cfg.features or cfg.data)
        hypermodel = TemporalHyperModel(cfg, space, manifest, strategy)
        hp = keras_tuner.HyperParameters()
        space.declare(hp)
        start = time.time()
        with strategy.scope():
            model = hypermodel.build(hp)
        hypermodel.fit(hp, model, epochs=cfg.epochs, verbose=0)
        seconds[name] = time.time() - start
    frames_s, cached_s = seconds.values()
    lines = [
        f"encoder {args.encoder} (frozen), {args.size}x{args.size} frames, "
        f"{len(classes)} classes x {args.clips_per_class} clips, LSTM 64, chunk 8, "
        f"{args.epochs} epochs per trial, {strategy.num_replicas_in_sync} replica(s), "
        f"{os.cpu_count()} CPU cores",
        *(f"  one trial on {k}: {v:.1f} s" for k, v in seconds.items()),
        f"  speed-up per trial: {frames_s / cached_s:.1f}x (goal >= 20x)",
        f"  one-off `vidrec embed`: {embed_s:.1f} s",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

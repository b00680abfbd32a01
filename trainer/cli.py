"""Entry points: `vidrec train | evaluate | predict | embed`.

Device set-up (`configure_devices`) happens here, before TensorFlow
initialises. Bad input is one line `vidrec <cmd>: error: ...` on stderr and
exit code 2 (`vidrec.cli`'s convention): only the checking of input is wrapped,
never the work.
"""

from __future__ import annotations

import argparse
import dataclasses

from trainer.config import ORDERS, EvalProtocol, TrainConfig, load_config
from trainer.feature_cache import DEFAULT_MAX_CACHE_GB
from vidrec.core import errors, run_folder
from vidrec.core.eval_file import EvalFile


def add_train_flags(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """Adds one flag per TrainConfig field: its help from the field (`setting`), its default
    from the dataclass. Each model's own settings are TrainConfig fields too."""
    for field in dataclasses.fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        help_ = field.metadata.get("help", "")
        if field.default is dataclasses.MISSING:
            parser.add_argument(flag, required=required, help=help_)
        elif isinstance(field.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction,
                                default=field.default, help=help_)
        elif field.name == "head_units":
            parser.add_argument(flag, type=int, nargs=2, default=list(field.default),
                                metavar=("UNITS1", "UNITS2"),
                                help=help_ + " (default: %(default)s)")
        elif field.name == "devices":
            parser.add_argument(flag, default="", help=help_)
        else:
            parser.add_argument(flag, type=type(field.default), default=field.default,
                                help=help_ + " (default: %(default)s)")


def build_train_parser() -> argparse.ArgumentParser:
    parser = errors.CommandParser(
        prog="vidrec train",
        description="Train a video classifier (--model) under MirroredStrategy (all GPUs, "
                    "--devices, or --cpu-replicas logical CPUs), once or once per seed "
                    "(--seeds). The same command on the same machine gives the same weights "
                    "and predictions (--deterministic).",
        epilog="Several machines: when TF_CONFIG names a cluster (Vertex AI and Kubernetes "
               "operators set it), start the same command on every machine; it then trains "
               "under MultiWorkerMirroredStrategy with its own loop, each worker on its share "
               "of the shard files (convert with --num-shards >= workers), and only the chief "
               "writes --out and the TensorBoard logs. A killed run resumes when every worker "
               "is started again with the same --out.")
    add_train_flags(parser)
    parser.add_argument("--seeds", default="", metavar="S1,S2,...",
                        help="train the same configuration once per seed, one run folder per "
                             "seed (OUT/seed<N>, listed in OUT/seeds.json) instead of --seed: "
                             "each seed varies initialisation, data order, frame sampling and "
                             "augmentation together. Train every compared model under the same "
                             "seeds: `vidrec compare` pairs them by seed and its intervals "
                             "include seed-to-seed variation. A rerun keeps the seeds that "
                             "finished and resumes the others")
    parser.add_argument("--overwrite", action="store_true",
                        help="delete a run already in --out (finished, or with other flags) "
                             "and train from scratch")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """A TrainConfig from parsed `add_train_flags` arguments (ValueError if invalid)."""
    values = {}
    for field in dataclasses.fields(TrainConfig):
        value = getattr(args, field.name)
        if field.name == "head_units":
            value = tuple(value)
        elif field.name == "devices":
            value = tuple(d.strip() for d in (value or "").split(",") if d.strip())
        values[field.name] = value
    return TrainConfig(**values)


@errors.command("train", build_train_parser)
def train_main(args: argparse.Namespace) -> int:
    """`vidrec train`."""
    with errors.bad_input():
        cfg = config_from_args(args)
        seeds = seeds_from_args(args)
    from trainer import distribute, folders, train  # imports TensorFlow

    with errors.bad_input(ValueError, FileNotFoundError, RuntimeError):
        distribute.configure_devices(cfg.cpu_replicas)
        strategy = distribute.make_strategy(cfg)
        train.prepare(cfg, strategy.num_replicas_in_sync)
        if seeds:
            folders.write_seed_group(cfg.out, seeds, args.overwrite)
        elif folders.check_run_dir(cfg, args.overwrite) == "resume":
            print(f"vidrec train: resuming the unfinished run in {cfg.out}", flush=True)
    if seeds:
        summaries = train.train_seeds(cfg, seeds, strategy, overwrite=args.overwrite)
    else:
        summaries = [train.train(cfg, strategy, overwrite=args.overwrite)]
    for seed, summary in zip(seeds or (cfg.seed,), summaries, strict=True):
        if summary.get("chief", True):
            print(f"vidrec train: seed {seed}: {summary['train_time_s']:.1f}s, "
                  f"{summary['epochs_run']} epochs, best val accuracy "
                  f"{summary['best_val_accuracy']} (clip), {summary['val_video_top1']:.4f} "
                  f"(video)")
    if seeds and summaries[0].get("chief", True):
        vals = [s["val_video_top1"] for s in summaries]
        print(f"vidrec train: {len(seeds)} seeds: val video top-1 mean "
              f"{sum(vals) / len(vals):.4f}, min {min(vals):.4f}, max {max(vals):.4f} "
              f"-> {cfg.out}")
    return 0


def seeds_from_args(args: argparse.Namespace) -> tuple[int, ...]:
    """`--seeds` as a tuple of distinct seeds; () when not given.

    Raises:
      ValueError: duplicates, non-integers, or --seed given too.
    """
    if not args.seeds:
        return ()
    if args.seed != 0:
        raise ValueError(f"give --seed or --seeds, not both (got --seed {args.seed} and "
                         f"--seeds {args.seeds})")
    return run_folder.parse_seeds(args.seeds)


def build_evaluate_parser() -> argparse.ArgumentParser:
    parser = errors.CommandParser(
        prog="vidrec evaluate",
        description="Clip- and video-level accuracy of a run; writes RUN_DIR/eval_<split>.json "
                    "(eval_<split>_<order>.json for shuffled/reversed) and a confusion PNG.")
    parser.add_argument("run_dir", help="a finished `vidrec train` run folder, or a seed group "
                                        "(`vidrec train --seeds`): every seed is evaluated")
    parser.add_argument("--split", default="test", choices=("test", "val", "train"))
    parser.add_argument("--order", default="natural", choices=ORDERS,
                        help="frame order inside each chunk: shuffled/reversed test how much "
                             "a model relies on temporal order")
    parser.add_argument("--frames", default="all", metavar="all|N",
                        help="the evaluation protocol: which frames of each video every model "
                             "is scored on, chosen from the video alone: 'all' (default) scores "
                             "every stored frame, N the centred N consecutive frames. Each "
                             "model tiles them into its own clips, so runs with different "
                             "chunk lengths are scored on the same frames; `vidrec compare` "
                             "refuses runs evaluated under different protocols")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="clips per batch (default: the run's)")
    return parser


@errors.command("evaluate", build_evaluate_parser)
def evaluate_main(args: argparse.Namespace) -> int:
    """`vidrec evaluate RUN_DIR [--split] [--order] [--frames] [--batch-size]`."""
    from trainer import evaluate, folders

    with errors.bad_input():
        protocol = EvalProtocol.parse(args.frames)
        seeds = folders.seed_group(args.run_dir)
        run_dirs = ([run_folder.seed_run_dir(args.run_dir, s) for s in seeds] if seeds
                    else [args.run_dir])
        for run_dir in run_dirs:  # every seed finished before any is evaluated
            load_config(run_dir)
            run_folder.check_finished(run_dir, "RUN_DIR")
    for run_dir in run_dirs:
        with errors.bad_input():
            run = evaluate.open_run(run_dir)
        result = evaluate.evaluate_model(run.model, run.cfg, run.manifest, run_dir, args.split,
                                         args.order, protocol, args.batch_size)
        ev = EvalFile.from_dict(result)
        print(f"{ev.run_name} {args.split} {args.order} ({protocol.name}): video top-1 "
              f"{ev.video_top1:.4f}, clip top-1 {ev.clip_top1:.4f}, mean class "
              f"accuracy {ev.mean_class_accuracy:.4f} ({ev.num_videos} videos)")
    return 0


def build_predict_parser() -> argparse.ArgumentParser:
    parser = errors.CommandParser(
        prog="vidrec predict",
        description="Top-k classes of raw video files, decoded exactly as `vidrec convert` "
                    "does; video probabilities are the mean over the clips `vidrec evaluate` "
                    "scores (every frame, tiled into the run's chunks; short videos looped).")
    parser.add_argument("run_dir", help="a finished `vidrec train` run folder")
    parser.add_argument("videos", nargs="+", help="video files (local or gs://)")
    parser.add_argument("--top-k", type=int, default=5)
    return parser


@errors.command("predict", build_predict_parser)
def predict_main(args: argparse.Namespace) -> int:
    """`vidrec predict RUN_DIR VIDEO... [--top-k 5]`: exit status 1 if a video failed."""
    from trainer import predict

    with errors.bad_input():
        predict.check_top_k(args.top_k)
        predictor = predict.Predictor(args.run_dir)
    failed = 0
    for path in args.videos:
        res = predictor.predict(path, args.top_k)
        if res["error"]:
            failed += 1
            print(f"{path}: FAILED: {res['error']}")
        else:
            print(f"{path}: " + ", ".join(f"{c} {p:.3f}" for c, p in res["top"]))
    return 1 if failed else 0


def build_embed_parser() -> argparse.ArgumentParser:
    parser = errors.CommandParser(
        prog="vidrec embed",
        description="Run a trained FRAME run's encoder once over every frame of every split "
                    "and write a feature cache for `vidrec train --features` / `vidrec tune "
                    "--features` (augmentation cannot apply to cached embeddings).")
    parser.add_argument("--data", required=True, help="folder written by `vidrec convert`")
    parser.add_argument("--encoder", required=True, help="a trained frame run folder")
    parser.add_argument("--out", required=True, help="the feature cache folder to write")
    parser.add_argument("--batch-size", type=int, default=64, help="frames per encoder batch")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a feature cache already in --out (finished, or "
                             "unfinished with other flags); a folder that holds no feature "
                             "cache is never cleared. Without it, an unfinished cache of the "
                             "same flags resumes, keeping its finished shards")
    parser.add_argument("--maps", action="store_true",
                        help="store the encoder's feature maps [h, w, C] (before its global "
                             "pooling) instead of pooled vectors: what the spatial models "
                             "(convlstm, conv2plus1d) read")
    parser.add_argument("--feature-layer", default="",
                        help="with --maps: the encoder layer whose maps are stored (default "
                             "its last conv block); train with the same --feature-layer")
    parser.add_argument("--max-cache-gb", type=float, default=DEFAULT_MAX_CACHE_GB,
                        help="refuse, before writing anything, a cache estimated larger "
                             "(frames x h*w*C x 2 bytes); default %(default)g")
    return parser


@errors.command("embed", build_embed_parser)
def embed_main(args: argparse.Namespace) -> int:
    """`vidrec embed --data DIR --encoder RUN_DIR --out FEATURES`."""
    from trainer import embed

    with errors.bad_input():
        source = embed.open_source(args.data, args.encoder, args.batch_size, args.maps,
                                   args.feature_layer, args.max_cache_gb)
        if embed.check_out(source, args.out, args.overwrite) == "resume":
            print(f"vidrec embed: resuming the unfinished feature cache in {args.out}",
                  flush=True)
    manifest = embed.write_cache(source, args.out, args.overwrite)
    feats = manifest["features"]
    rows = ("x".join(map(str, feats["map_shape"])) + " feature maps" if "map_shape" in feats
            else f"{feats['dim']}-d embeddings")
    print(f"vidrec embed: {rows}, {feats['bytes'] / 1e6:,.1f} MB "
          f"({feats['bytes_per_video'] / 1e3:,.1f} kB per video) -> {args.out}")
    return 0

"""Entry point of `vidrec tune`."""

from __future__ import annotations

import argparse

from trainer import cli as trainer_cli
from tuning import space
from vidrec.core import errors, run_folder
from vidrec.core.eval_file import EvalFile

# The parser builds without Keras (`vidrec tune --help`): these are `tuning.search`'s
# TUNERS and its objectives, checked equal by tests/test_vidrec_cli.py.
TUNERS = ("random", "bayesian", "hyperband")
VIDEO_OBJECTIVE = "val_video_accuracy"

DESCRIPTION = """\
KerasTuner search over the temporal part: by default the recurrent model's RNN
cell (lstm, gru, simple, optionally bidirectional); with --temporal-types also
temporal convolutions (conv: layers, kernel), attention (layers, heads) and the
spatial models over the encoder's feature maps (convlstm, conv2plus1d: layers),
each family's sizes sampled only in its trials; the width (--hidden-range, log
scale) and the chunk length (a data hyperparameter: each trial builds its own
tf.data input) for all.
Learning rate and head dropout are searched only with --lr-range /
--dropout-range; otherwise every trial keeps the base flags' values, so the
retrained best differs from your other runs in its temporal part only (tuning
them for the recurrent model alone is a confound `vidrec compare` will name).
Every trial runs under the trainer's distribution strategy with the
global batch = --batch-size x replicas, reports the video-level validation
accuracy (never the test split), and logs scalars + hyperparameters to
TensorBoard's HParams dashboard (tensorboard --logdir OUT/tensorboard).
Restarting with the same --out resumes without repeating finished trials
(an interrupted trial restarts from epoch 0); --fresh starts over. At the end
the best trials are printed and written to OUT/trials.csv, and the best
configuration is retrained with `vidrec train` into OUT/best for --epochs
(the same budget as your other runs; trials run --trial-epochs) and evaluated
on the test split (OUT/best/eval_test.json). An earlier OUT/best is replaced,
with a message. Failed trials (out of memory, NaN loss) are recorded with
their reason and the search goes on.

Make trials cheap: with a frozen encoder, cache its embeddings once
(`vidrec embed`) and pass --features; augmentation cannot apply to cached
embeddings.

The trainer's flags below (--data, --encoder, --weights, --init-from,
--cpu-replicas, --batch-size, --epochs (of the retrained best), ...) mean what
they mean for `vidrec train`; --out is the search folder.

Several machines, two ways. Trials in parallel: set KERASTUNER_ORACLE_IP,
KERASTUNER_ORACLE_PORT and KERASTUNER_TUNER_ID (`chief` on the process that
serves the oracle, tuner0, tuner1, ... on the machines that train) and run the
same command everywhere with a shared --out (gs://...); each worker runs whole
trials on its own GPUs. Each trial across a cluster: set TF_CONFIG as for
`vidrec train`; every worker runs the same search in lock step.
"""


def build_parser() -> argparse.ArgumentParser:
    p = errors.CommandParser(prog="vidrec tune", description=DESCRIPTION,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    trainer_cli.add_train_flags(p)
    p.set_defaults(model="recurrent")
    g = p.add_argument_group("search")
    g.add_argument("--tuner", default="random", choices=TUNERS,
                   help="KerasTuner oracle (default %(default)s)")
    g.add_argument("--max-trials", type=int, default=6,
                   help="trials to run in total, counting resumed ones (default %(default)s)")
    g.add_argument("--objective", default=VIDEO_OBJECTIVE,
                   choices=(VIDEO_OBJECTIVE, "val_accuracy"),
                   help="validation metric to maximise: video level (softmax averaged "
                   "over a video's chunks) or clip level (default %(default)s)")
    g.add_argument("--trial-epochs", type=int, default=0,
                   help="epochs of each trial (default 0: --epochs)")
    g.add_argument("--max-failed-trials", type=int, default=3,
                   help="stop after this many consecutive failed trials (default %(default)s)")
    g.add_argument("--fresh", action="store_true",
                   help="discard the saved search state in --out and start over")
    g.add_argument("--no-retrain", action="store_true",
                   help="skip retraining and evaluating the best configuration")
    g.add_argument("--seeds", default="", metavar="S1,S2,...",
                   help="retrain the best configuration once per seed into OUT/best/seed<N> "
                        "(a seed group, as `vidrec train --seeds` writes): give the seeds the "
                        "compared runs were trained with, so `vidrec compare` pairs them. "
                        "--seed stays the search's own seed (the oracle's, and each trial's "
                        "initialisation, drawn from it and the trial id)")
    space.add_flags(p)
    return p


@errors.command("tune", build_parser)
def main(args: argparse.Namespace) -> int:
    """`vidrec tune`: bad input is one line and exit status 2; the search itself is not."""
    from tuning import search  # imports Keras and KerasTuner

    with errors.bad_input(ValueError, FileNotFoundError, RuntimeError):
        cfg, strategy = _setup(args)
    result = search.search(cfg, strategy)
    if result["best_eval"]:
        ev = EvalFile.from_dict(result["best_eval"])
        print(f"best configuration {result['best_hp']}\n"
              f"test: video top-1 {ev.video_top1:.3f}, clip top-1 {ev.clip_top1:.3f} "
              f"-> {ev.run_dir}/{run_folder.eval_json('test')}")
    return 0


def _setup(args: argparse.Namespace):
    """The search's config and strategy from the flags, every input checked."""
    from pipeline import schema
    from trainer import data, distribute
    from tuning import search, tuners

    base = trainer_cli.config_from_args(args)
    manifest = schema.read_manifest(data.source_dir(base))
    search_space = space.from_args(args, data.max_chunk_length(manifest, base.frame_stride))
    cfg = search.TuneConfig(
        base=base, space=search_space, out=args.out, tuner=args.tuner,
        max_trials=args.max_trials, objective=args.objective, fresh=args.fresh,
        retrain_best=not args.no_retrain, max_failed_trials=args.max_failed_trials,
        trial_epochs=args.trial_epochs,
        seeds=run_folder.parse_seeds(args.seeds) if args.seeds else ())
    search.validate(cfg)
    if tuners.tuner_role() != "worker" and search.check_resume(cfg) == "resume":
        print(f"vidrec tune: resuming the search in {args.out}", flush=True)
    distribute.configure_devices(base.cpu_replicas)
    return cfg, distribute.make_strategy(base)

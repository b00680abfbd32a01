"""`vidrec compare`: turn evaluated run directories into report.md with CIs and plots.

Bad input (a bad flag, runs that do not compare, an unknown --role, a role given
a run of the wrong traits) is one line `vidrec compare: error: ...` on stderr and
exit status 2 (`vidrec.cli`).
"""

from __future__ import annotations

import argparse
import sys

from report.answer.roles import ROLES
from vidrec.core.errors import CommandParser, UsageError, bad_input, command
from vidrec.core.run_folder import join

DESCRIPTION = """\
Compare runs evaluated on the same test videos and the same frames, and write
REPORT_DIR/report.md, REPORT_DIR/summary.json and PNG figures beside them.

Each RUN_DIR needs eval_<split>.json (made by `vidrec evaluate RUN_DIR`), or is a
seed group (`vidrec train --seeds 0,1,2`: RUN_DIR/seeds.json and one such run folder
per seed, RUN_DIR/seed0, ...): one model trained under several seeds. Every model
must list the same seeds, so that models are compared seed by seed; a plain run
folder is a one-seed model (its config's seed).
eval_<split>_shuffled.json / eval_<split>_reversed.json, if present, feed the
frame-order ablation, and train_summary.json plus its TensorBoard log_dir feed
the training curves. Runs evaluated on different data (manifest, split or
video list), under different evaluation protocols or on different frames are
refused with one line naming both runs.

The report gives video-level accuracies with 95% bootstrap intervals over the
test set's source films (clips of one film are not independent) and, with
several seeds, over the training seeds too (each resample draws seeds, then
films: a two-level bootstrap), McNemar and permutation tests over (seed, film)
cells between every pair of runs, each model's spread over seeds and its seed
variance against its film variance, P(A>B) on a new seed, the order ablation
in words, per-class gains, and a "what differs between these runs" table from
the runs' recipes: temporal settings are the comparison, any other difference
is named as a confound in the headline.

The headline and report.md also go to TensorBoard as text (the Text tab), in a
run "compare" under the log root holding the runs' TensorBoard logs.

Pictures of test videos (report.md's "Videos", REPORT_DIR/mistakes/ and
REPORT_DIR/videos/, and each run's TensorBoard log dir under report/): each
run's misclassified videos, the videos where the candidate changed the
baseline's answer, and those whose prediction flips with shuffled frames, with
their frames read from the data folder the eval files name (without it, drawn
without frames and a warning). --no-videos leaves them out.

The headline answers in three parts, each with film-cluster intervals and a
paired test: 1. do several frames help? (the pooled control, the best
order-blind multi-frame run: pooled, or attention without positions, vs the
best frame run); 2. does order help? (the best order-aware run: recurrent,
temporal_conv or attention with positions, vs the pooled control, and that run's
drop with shuffled frames); 3. does recurrence help beyond order? (the best
recurrent run vs the best non-recurrent order-aware run; without one, it says
that recurrence cannot be told apart from order with these runs). Where some
run is spatial (convlstm, conv2plus1d: its temporal part sees the encoder's
feature maps), a fourth part: 4. does spatial temporal modelling beat late
fusion? (the best spatial run vs the best late-fusion order-aware run; parts
1-3 compare late-fusion runs only). "Best" is by
VALIDATION video accuracy recorded at training time; the test split never picks
a run (with seeds, the mean over seeds). A part says yes only when its test
and its interval both exclude no difference; otherwise it is inconclusive and
says how many seeds (or whether more test films) would likely settle it.
Name any role with --role ROLE=RUN (roles: frame, pooled, order_aware,
recurrent, non_recurrent, spatial, late_fusion); --candidate RUN names the
spatial role for a spatial run, the recurrent role for a recurrent run (else
order_aware) and --baseline RUN the frame role. The
headline's p-values are Holm-adjusted together.

Runs of several official splits (HMDB51's 1, 2, 3: the data's manifest says
which) give one full report per split in REPORT_DIR/split<N>/ and, in
REPORT_DIR/report.md, each run's accuracy per split, each part's difference per
split with its mean ± std and in how many splits it is significant. Roles are
chosen once, by validation accuracy averaged over the splits. Runs are matched
across splits by their folder name.
"""

EPILOG = """\
examples:
  vidrec compare runs/frame runs/pooled runs/lstm --out report \\
      --order-classes grow,shrink,fade_in,fade_out,move_up,move_down
  vidrec compare runs/split{1,2,3}/{frame,pooled,lstm,tconv} --out report \\
      --role recurrent=lstm --role non_recurrent=tconv --baseline frame
  vidrec compare groups/frame groups/pooled groups/lstm --out report \\
      --allow-different-seeds   # seed groups; pair by the seeds all of them have
"""


def parse_roles(values: list[str] | None) -> dict[str, str]:
    """--role ROLE=RUN flags -> {role: run}.

    Raises:
      UsageError: not ROLE=RUN, an unknown role, or a role given twice.
    """
    named: dict[str, str] = {}
    for value in values or []:
        role, sep, run = value.partition("=")
        role, run = role.strip(), run.strip()
        if not sep or not role or not run:
            raise UsageError(f"--role must be ROLE=RUN, got {value!r}")
        if role not in ROLES:
            raise UsageError(f"--role {value}: unknown role {role!r}; one of "
                             f"{', '.join(ROLES)}")
        if role in named:
            raise UsageError(f"--role {role} given twice ({named[role]!r} and {run!r})")
        named[role] = run
    return named


def build_parser() -> argparse.ArgumentParser:
    """The flags of `vidrec compare` (a bad one raises `vidrec.core.errors.UsageError`)."""
    p = CommandParser(prog="vidrec compare", description=DESCRIPTION, epilog=EPILOG,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="run directories (local or gs://) with eval_<split>.json")
    p.add_argument("--out", required=True, metavar="REPORT_DIR",
                   help="where report.md, summary.json and the PNGs go (created)")
    p.add_argument("--split", default="test",
                   help="which evaluation to compare: reads eval_<split>.json (default: test)")
    p.add_argument("--order-classes", default=None, metavar="A,B,C",
                   help="comma-separated classes only frame order tells apart (e.g. grow,shrink); "
                        "adds each run's accuracy on them. Omitted: no such section")
    p.add_argument("--resamples", type=int, default=2000,
                   help="bootstrap resamples per confidence interval (default: 2000)")
    p.add_argument("--seed", type=int, default=0,
                   help="bootstrap and permutation seed (default: 0)")
    p.add_argument("--role", action="append", default=None, metavar="ROLE=RUN",
                   help="name the run (folder name or path) of one role of the answer: frame, "
                        "pooled, order_aware, recurrent, non_recurrent, spatial or late_fusion; "
                        "repeatable. A role "
                        "not named is the run of its kind with the best validation video "
                        "accuracy")
    p.add_argument("--candidate", default=None, metavar="RUN",
                   help="the order-aware run the headline puts forward: --role spatial=RUN "
                        "for a spatial run, --role recurrent=RUN for a recurrent run, else "
                        "--role order_aware=RUN")
    p.add_argument("--baseline", default=None, metavar="RUN",
                   help="the frame run the headline compares with: --role frame=RUN")
    p.add_argument("--no-videos", dest="videos", action="store_false",
                   help="leave out the video pictures (each run's mistakes, where the candidate "
                        "changed the baseline's answer, order flips) and the reading of the "
                        "test videos' frames they need")
    p.add_argument("--allow-different-seeds", action="store_true",
                   help="report models trained under different seed lists instead of refusing "
                        "them: they are paired by the seeds they share, and the report and "
                        "headline say which seeds were dropped")
    p.add_argument("--allow-different-frames", action="store_true",
                   help="report runs evaluated under different protocols or on different "
                        "frames instead of refusing them; the report says so at its top")
    return p


@command("compare", build_parser)
def main(args: argparse.Namespace) -> int:
    """Entry point of `vidrec compare`; returns the exit status (2 on a usage or data error)."""
    if args.resamples < 1:
        raise UsageError(f"--resamples must be >= 1, got {args.resamples}")
    named = parse_roles(args.role)
    order_classes = None
    if args.order_classes:
        order_classes = [c.strip() for c in args.order_classes.split(",") if c.strip()]
    from report import compare  # imports TensorFlow: only when needed
    from report.render.markdown import differences_section  # scipy: not for --help

    with bad_input():  # the runs do not compare: different data, frames, unknown names...
        comparison = compare.prepare(args.run_dirs, args.split, order_classes, args.resamples,
                                     args.seed, args.baseline, args.candidate,
                                     args.allow_different_frames, named,
                                     args.allow_different_seeds)
    summary = compare.write(comparison, args.out, args.videos)
    print(summary["headline"] + "\n")
    print("\n".join(differences_section(summary)[2:]).strip())
    print(f"wrote {join(args.out, compare.REPORT_NAME)}")
    if summary.get("tensorboard_text"):
        print(f"TensorBoard: the headline and report are in the Text tab of "
              f"{summary['tensorboard_text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

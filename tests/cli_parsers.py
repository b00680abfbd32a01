"""Every `vidrec` subcommand's own argument parser, for tests that check commands written in
docs and config files (README.md, cloudbuild.yaml, Dockerfile) against the code.

`parse(argv)` raises or exits on a flag or value the code does not accept.
"""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import cli as pipeline_cli
from pipeline import config as convert_config
from report import cli as report_cli
from report import inspect_data
from trainer import cli as trainer_cli
from tuning import cli as tuning_cli
from vidrec import demo


def _parse_train(argv):
    trainer_cli.config_from_args(trainer_cli.build_train_parser().parse_args(argv))


def _parse_tune(argv):
    trainer_cli.config_from_args(tuning_cli.build_parser().parse_args(argv))


def _parse_convert(argv):
    """App flags by the pipeline's parser; the rest must be options some Beam class defines
    (Beam itself only logs and drops an unknown one, e.g. a misspelt --temp_location)."""
    _, options = convert_config.parse_args(argv)
    known = set(PipelineOptions([]).get_all_options())
    unknown = set(options.get_all_options(retain_unknown_options=True)) - known
    assert not unknown, f"`vidrec convert` passes Beam options no Beam class defines: {unknown}"


PARSERS = {
    "synth": lambda a: pipeline_cli.build_synth_parser().parse_args(a),
    "convert": _parse_convert,
    "train": _parse_train,
    "evaluate": lambda a: trainer_cli.build_evaluate_parser().parse_args(a),
    "predict": lambda a: trainer_cli.build_predict_parser().parse_args(a),
    "embed": lambda a: trainer_cli.build_embed_parser().parse_args(a),
    "tune": _parse_tune,
    "compare": lambda a: report_cli.build_parser().parse_args(a),
    "inspect": lambda a: inspect_data.build_parser().parse_args(a),
    "demo": lambda a: demo.build_parser().parse_args(a),
}


def train_config(argv: list[str]):
    """The TrainConfig of a `vidrec train ARGV...` command (without `vidrec train`)."""
    return trainer_cli.config_from_args(trainer_cli.build_train_parser().parse_args(argv))


def compared_recipes(argvs: list[list[str]]) -> dict[str, dict]:
    """The recipe (trainer.recipe) of every run a `vidrec compare` among `argvs` names.

    Runs on a feature cache get the cache's frame run as their encoder, as the trainer
    records it; run folders are matched by their path.
    """
    from trainer import recipe

    trains = {}
    for argv in argvs:
        if argv[0] == "train":
            cfg = train_config(argv[1:])
            trains[cfg.out.rstrip("/")] = cfg
    embeds = {a[a.index("--out") + 1]: a[a.index("--encoder") + 1]
              for a in argvs if a[0] == "embed"}
    (compare,) = [a for a in argvs if a[0] == "compare"]
    out = {}
    for run in compare[1:]:
        cfg = trains.get(run.rstrip("/"))
        if cfg is None:
            continue
        encoder_run = embeds.get(cfg.features, "")
        source = trains.get(encoder_run)
        manifest = {"features": {"encoder_run": encoder_run, "encoder_config": {
            "encoder": source.encoder, "weights": source.weights,
            "trainable_top_layers": source.trainable_top_layers}}} if source else {}
        out[run] = recipe.recipe(cfg, manifest, num_replicas=1)
    return out


def parse(argv: list[str]) -> None:
    """Parses `vidrec ARGV...` (without the leading `vidrec`) as the program would."""
    assert argv, "a bare `vidrec`"
    assert argv[0] in PARSERS, f"unknown command {argv[0]!r}"
    PARSERS[argv[0]](argv[1:])


def compared_seed_lists(argvs: list[list[str]]) -> set[str]:
    """The `--seeds` values of every compared `train` (on features) and every `tune` command:
    one value when every compared model trains under the same seeds."""
    return {a[a.index("--seeds") + 1] if "--seeds" in a else "" for a in argvs
            if a[0] == "tune" or (a[0] == "train" and "--features" in a)}

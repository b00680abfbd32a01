"""Every `vidrec` subcommand's own argument parser, for tests that check commands written in
docs and config files (README.md, docs/*.md, cloudbuild.yaml, Dockerfile) against the code.

`parse(argv)` raises or exits on a flag or value the code does not accept (a `vidrec study`
command also on a spec that does not load with its `--set` values). `readme_commands`
reads the `vidrec` commands of README and the docs pages it links (a section moved from
README to docs/ is found by its heading wherever it is), `plan_argvs` a study plan's.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import cli as pipeline_cli
from pipeline import config as convert_config
from pipeline import inspection
from report import cli as report_cli
from trainer import cli as trainer_cli
from tuning import cli as tuning_cli
from vidrec import demo
from vidrec.core import run_folder
from vidrec.study import cli as study_cli
from vidrec.study import plan as study_plan

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def doc_files() -> list[Path]:
    """README.md and every docs/*.md: the front door and the pages it links."""
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def headings(text: str) -> list[tuple[int, int, str]]:
    """(line index, level, title) of every Markdown heading outside code blocks."""
    found, fenced = [], False
    for i, line in enumerate(text.splitlines()):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.fullmatch(r"(#{1,6}) (.+?)\s*", line)):
            found.append((i, len(m.group(1)), m.group(2)))
    return found


def section_text(text: str, section: str) -> str | None:
    """The part of `text` under the heading SECTION (any level) up to the next heading of
    its level or above; None where it has no such heading."""
    marks = headings(text)
    starts = [(i, level) for i, level, title in marks if title == section]
    if not starts:
        return None
    assert len(starts) == 1, f"two headings {section!r}"
    start, level = starts[0]
    end = next((i for i, lv, _ in marks if i > start and lv <= level), None)
    return "\n".join(text.splitlines()[start:end])


def readme_blocks(section: str | None = None, path: Path | None = None) -> list[str]:
    """The bash blocks of README.md and docs/*.md (of `path` only), or of the section under
    the heading SECTION only, in whichever of those files holds it."""
    texts = [p.read_text() for p in ([path] if path else doc_files())]
    if section is not None:
        found = [s for s in (section_text(t, section) for t in texts) if s is not None]
        assert len(found) == 1, (
            f"the heading {section!r} is in {len(found)} of README.md and docs/*.md, not 1")
        texts = found
    return [b for text in texts for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def vidrec_commands(block: str) -> list[list[str]]:
    """`vidrec` argv lists of a bash block (without `vidrec`): comments dropped, `\\`
    continuations joined, leading environment assignments (`TF_CONFIG=... vidrec train`)
    skipped."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        line = line.split(" #")[0].strip() if " #" in line else line.strip()
        if line.startswith("#") or not line:
            continue
        words = shlex.split(line)
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            words = words[1:]
        if words[:1] == ["vidrec"]:
            commands.append(words[1:])
    return commands


def readme_commands(section: str | None = None, path: Path | None = None) -> list[list[str]]:
    """Every `vidrec` command in the bash blocks of README and docs/*.md (of `path` only, of
    the section SECTION only)."""
    return [c for block in readme_blocks(section, path) for c in vidrec_commands(block)]


def plan_argvs(plan) -> list[list[str]]:
    """Every command of a study plan (`vidrec.study.plan.Plan`), in order, without `vidrec`."""
    return [list(step) for job in plan.jobs for step in job.steps]


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


def _parse_study(argv):
    """The flags, and the spec with its `--set` values: it must load and expand."""
    args = study_cli.build_parser().parse_args(argv)
    study_plan.parse_shard(args.shard)
    plan = study_cli.load_plan(args.spec, args.out, args.set)
    assert not plan.out.startswith("gs://"), "vidrec study refuses a gs:// --out"


PARSERS = {
    "synth": lambda a: pipeline_cli.build_synth_parser().parse_args(a),
    "camera": lambda a: pipeline_cli.build_camera_parser().parse_args(a),
    "convert": _parse_convert,
    "train": _parse_train,
    "evaluate": lambda a: trainer_cli.build_evaluate_parser().parse_args(a),
    "predict": lambda a: trainer_cli.build_predict_parser().parse_args(a),
    "embed": lambda a: trainer_cli.build_embed_parser().parse_args(a),
    "tune": _parse_tune,
    "compare": lambda a: report_cli.build_parser().parse_args(a),
    "inspect": lambda a: inspection.build_parser().parse_args(a),
    "demo": lambda a: demo.build_parser().parse_args(a),
    "study": _parse_study,
}


def train_config(argv: list[str]):
    """The TrainConfig of a `vidrec train ARGV...` command (without `vidrec train`)."""
    return trainer_cli.config_from_args(trainer_cli.build_train_parser().parse_args(argv))


def _group(out: str) -> str:
    """The folder `vidrec compare` names for a run trained into `out` (its seed group)."""
    out = out.rstrip("/")
    return run_folder.seed_group_of(out) or out


def compared_recipes(argvs: list[list[str]]) -> dict[str, dict]:
    """The recipe (trainer.recipe) of every run a `vidrec compare` among `argvs` names.

    A compared folder is a seed group: the trains into GROUP/seedN (`--seed N`), or one
    train into GROUP (`--seeds`). Its seeds must share one recipe but for the seed, which
    is left out of the recipe returned. Runs on a feature cache get the cache's frame run as
    their encoder, as the trainer records it; run folders are matched by their path.
    """
    from trainer import recipe

    trains: dict[str, list] = {}
    configs = {}
    for argv in argvs:
        if argv[0] == "train":
            cfg = train_config(argv[1:])
            configs[cfg.out.rstrip("/")] = cfg
            trains.setdefault(_group(cfg.out), []).append(cfg)
    embeds = {a[a.index("--out") + 1]: a[a.index("--encoder") + 1]
              for a in argvs if a[0] == "embed"}
    (compare,) = [a for a in argvs if a[0] == "compare"]
    out = {}
    for run in compare[1:]:
        recipes = []
        for cfg in trains.get(run.rstrip("/"), []):
            encoder_run = embeds.get(cfg.features, "")
            source = configs.get(encoder_run)
            manifest = {"features": {"encoder_run": encoder_run, "encoder_config": {
                "encoder": source.encoder, "weights": source.weights,
                "trainable_top_layers": source.trainable_top_layers}}} if source else {}
            one = recipe.recipe(cfg, manifest, num_replicas=1)
            one["shared"].pop("seed")
            recipes.append(one)
        if recipes:
            assert all(r == recipes[0] for r in recipes), (
                f"the seeds of {run} differ beyond their seed")
            out[run] = recipes[0]
    return out


def parse(argv: list[str]) -> None:
    """Parses `vidrec ARGV...` (without the leading `vidrec`) as the program would."""
    assert argv, "a bare `vidrec`"
    assert argv[0] in PARSERS, f"unknown command {argv[0]!r}"
    PARSERS[argv[0]](argv[1:])


def compared_seed_lists(argvs: list[list[str]]) -> set[str]:
    """The seeds every compared seed group is trained under (in order, comma-joined: one
    train per seed, `--seed N --out GROUP/seedN`, or one `--seeds` train into GROUP), and
    the `--seeds` of every `tune`: one value when every compared model and the tuner's best
    train under the same seeds."""
    (compare,) = [a for a in argvs if a[0] == "compare"]
    compared = {run.rstrip("/") for run in compare[1:]}
    seeds: dict[str, list[str]] = {}
    for argv in argvs:
        if argv[0] != "train":
            continue
        out = argv[argv.index("--out") + 1].rstrip("/")
        if "--seeds" in argv:
            seeds.setdefault(out, []).extend(argv[argv.index("--seeds") + 1].split(","))
        else:
            seed = argv[argv.index("--seed") + 1] if "--seed" in argv else "0"
            seeds.setdefault(_group(out), []).append(seed)
    lists = {",".join(s) for group, s in seeds.items() if group in compared}
    return lists | {a[a.index("--seeds") + 1] if "--seeds" in a else "" for a in argvs
                    if a[0] == "tune"}

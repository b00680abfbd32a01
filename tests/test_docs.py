"""README is a front door and docs/*.md the rooms behind it: every command in README and in
every docs page parses with the project's own parsers, the walkthrough's commands
(docs/demo.md) are the ones `vidrec demo` runs (so the demo exercises them), the published
study specs compare like with like, the HMDB51 section (docs/hmdb51.md) runs
studies/hmdb51.toml on the splits it converts, README stays short, and every link between
them, and every repository file they name, exists."""

import re
import shlex
from pathlib import Path

import pytest
from cli_parsers import (
    PARSERS,
    README,
    ROOT,
    compared_recipes,
    compared_seed_lists,
    doc_files,
    headings,
    plan_argvs,
    readme_blocks,
    readme_commands,
    vidrec_commands,
)

from vidrec import cli, demo
from vidrec.study import cli as study_cli
from vidrec.study import plan as study_plan

HMDB51_SPEC = "studies/hmdb51.toml"
HMDB51_SECTION = "HMDB51 for real"
WALKTHROUGH_SECTION = "The experiment, one command per stage"
README_MAX_LINES = 200
HMDB51_RUNS = ("frame", "pooled", "lstm", "conv", "attention")
MODELS = {"frame", "pooled", "recurrent", "temporal_conv", "attention"}
SEEDS = ("0", "1", "2")


def _flag(argv, name):
    return argv[argv.index(name) + 1] if name in argv else None


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_readme_and_docs_hold_the_commands_users_copy():
    commands = readme_commands()  # README and every docs page together
    assert len(commands) >= 20
    assert sum(c[0] == "tune" for c in commands) >= 2  # the walkthrough's, the distributed one
    assert sum(c[0] == "study" for c in commands) >= 2
    assert set(PARSERS) == set(cli.COMMANDS)


@pytest.mark.parametrize("path", doc_files(), ids=_name)
def test_every_command_in_readme_and_docs_parses(path):
    for argv in readme_commands(path=path):
        assert argv[0] in PARSERS, f"{_name(path)} uses unknown command {argv[0]!r}"
        PARSERS[argv[0]](argv[1:])  # raises / exits on a flag the code does not know


def test_the_real_footage_study_is_like_for_like_from_scratch():
    """studies/camera.toml: every compared run trains its own encoder from scratch with one
    recipe, under seeds 0, 1, 2; only the temporal part (and what its encoder sees of each
    frame, a temporal setting) differs."""
    argvs = plan_argvs(study_cli.load_plan("studies/camera.toml", None, []))
    recipes = compared_recipes(argvs)
    shared = [r["shared"] for r in recipes.values()]
    assert len(recipes) >= 6 and all(s == shared[0] for s in shared)
    assert shared[0]["encoder_trainable"] == "all" and shared[0]["encoder_trained_by"] == (
        "this run")
    assert compared_seed_lists(argvs) == {",".join(SEEDS)}
    kinds = {r["temporal"]["model"] for r in recipes.values()}
    assert {"frame", "pooled", "recurrent", "convlstm", "conv2plus1d"} <= kinds


def test_walkthrough_is_what_the_demo_runs():
    (block,) = readme_blocks(WALKTHROUGH_SECTION)
    walkthrough = vidrec_commands(block)
    assert len(walkthrough) >= 10
    demo_cmds = demo.commands("demo_out")
    for argv in walkthrough:
        assert any(argv[0] == d[0] and set(argv) <= set(d) for d in demo_cmds), (
            f"walkthrough command `vidrec {' '.join(argv)}` is not run by `vidrec demo`")


def _by_split(recipes):
    groups = {}
    for run, recipe in recipes.items():
        split = next(p for p in run.split("/") if p.startswith("split"))
        groups.setdefault(split, []).append(recipe)
    return groups


@pytest.mark.parametrize("source", [HMDB51_SPEC, "demo", "demo --videos"])
def test_every_recipe_we_publish_is_like_for_like(source):
    """The published specs (HMDB51's, the demo's, the demo on videos): compared runs
    differ only in time, each split's on its own encoder, all under the same seeds."""
    if source == HMDB51_SPEC:
        argvs = plan_argvs(study_cli.load_plan(HMDB51_SPEC, None, []))
    elif source == "demo":
        argvs = demo.commands("out", split=(1, 2, 3))
    else:
        argvs = demo.commands("out", videos="v", splits="s", split=(1, 2, 3))
    by_split = _by_split(compared_recipes(argvs))
    assert set(by_split) == {"split1", "split2", "split3"}, source
    for split, recipes in by_split.items():
        models = {r["temporal"]["model"] for r in recipes}
        assert models == MODELS, (source, split)
        shared = [r["shared"] for r in recipes]
        assert all(s == shared[0] for s in shared), f"{source} {split}: runs differ beyond time"
        assert shared[0]["encoder_trainable"] == "frozen"
        assert split in shared[0]["encoder_trained_by"]  # each split's own encoder
    # Every compared model trained once per seed 0, 1, 2, and the tuner's best under them.
    assert compared_seed_lists(argvs) == {",".join(SEEDS)}, source
    tunes = [a for a in argvs if a[0] == "tune"]
    assert len(tunes) == 3, source  # one search per split
    train = next(a for a in argvs if a[0] == "train" and "--features" in a)
    for tune in tunes:  # the retrained best gets the same budget and embeddings
        for flag in ("--epochs", "--features", "--chunk-length"):
            assert _flag(tune, flag).split("split")[0] == _flag(train, flag).split("split")[0], (
                source, flag)


def _dry_run_jobs(text):
    """job id -> its commands (argv lists without `vidrec`) of a `--dry-run` printout."""
    jobs, current = {}, None
    for line in text.splitlines():
        if line.startswith("# ") and not line.startswith("# vidrec study"):
            current = line[2:].split(" (")[0]
            jobs[current] = []
        elif line.startswith("vidrec "):
            jobs[current].append(shlex.split(line)[1:])
    return jobs


def test_the_hmdb51_dry_run_lists_every_command_of_three_splits(capsys):
    assert study_cli.main([HMDB51_SPEC, "--dry-run"]) == 0
    jobs = _dry_run_jobs(capsys.readouterr().out)
    plan = study_cli.load_plan(HMDB51_SPEC, None, [])
    assert jobs == {j.id: [list(s) for s in j.steps] for j in plan.jobs}  # the plan, all of it
    out = plan.out
    compared = []
    for k in (1, 2, 3):
        data, root = f"hmdb51/split{k}", f"{out}/split{k}"
        encoder, embed = jobs.pop(f"split{k}/encoder")
        assert encoder[0] == "train" and _flag(encoder, "--data") == data
        assert _flag(encoder, "--out") == f"{root}/runs/encoder"
        assert (_flag(encoder, "--encoder"), _flag(encoder, "--weights"),
                _flag(encoder, "--trainable-top-layers")) == ("vgg16", "imagenet", "4")
        assert embed[0] == "embed" and _flag(embed, "--encoder") == f"{root}/runs/encoder"
        features = _flag(embed, "--out")
        for run in HMDB51_RUNS:
            for seed in SEEDS:
                train, *evaluations = jobs.pop(f"split{k}/{run}/seed{seed}")
                run_dir = f"{root}/runs/{run}/seed{seed}"
                assert train[0] == "train" and _flag(train, "--seed") == seed
                assert (_flag(train, "--data"), _flag(train, "--features"),
                        _flag(train, "--out")) == (data, features, run_dir)
                orders = [] if run == "frame" else [["--order", "shuffled"]]
                assert evaluations == [["evaluate", run_dir]] + [
                    ["evaluate", run_dir, *o] for o in orders], (k, run, seed)
            compared.append(f"{root}/runs/{run}")
        tune, *evaluations = jobs.pop(f"split{k}/tune")
        assert tune[0] == "tune" and _flag(tune, "--seeds") == ",".join(SEEDS)
        assert (_flag(tune, "--data"), _flag(tune, "--features"), _flag(tune, "--out")) == (
            data, features, f"{root}/tune")
        assert (_flag(tune, "--max-trials"), _flag(tune, "--trial-epochs")) == ("30", "10")
        assert evaluations == [["evaluate", f"{root}/tune/best", "--order", "shuffled"]]
        compared.append(f"{root}/tune/best")
    ((compare,),) = [jobs.pop("report")]
    assert not jobs, f"jobs the test does not know: {sorted(jobs)}"
    assert compare[0] == "compare" and _flag(compare, "--out") == f"{out}/report"
    named = compare[1:compare.index("--out")]
    assert len(named) == 18 and sorted(named) == sorted(compared)


def _readme_studies():
    """The `vidrec study` commands of the HMDB51 section (docs/hmdb51.md), parsed."""
    return [study_cli.build_parser().parse_args(c[1:])
            for c in readme_commands(HMDB51_SECTION) if c[0] == "study"]


def test_readme_converts_the_splits_the_hmdb51_study_reads_and_runs_it():
    plan = study_cli.load_plan(HMDB51_SPEC, None, [])
    spec = plan.spec
    assert spec.splits == (1, 2, 3), "HMDB51's three official splits"
    converts = [c for c in readme_commands(HMDB51_SECTION) if c[0] == "convert"]
    assert sorted((_flag(c, "--split"), _flag(c, "--output")) for c in converts) == sorted(
        (str(k), study_plan.data_dir(spec, plan.out, k)) for k in spec.splits)
    # One conversion, run once per split: the same flags but for --split and --output.
    rest = [[w for i, w in enumerate(c) if w not in ("--split", "--output")
             and c[i - 1] not in ("--split", "--output")] for c in converts]
    assert all(r == rest[0] for r in rest), rest
    studies = _readme_studies()
    assert {a.spec for a in studies} == {HMDB51_SPEC}
    assert any(not (a.dry_run or a.status) for a in studies), "README runs the study"
    assert any(a.dry_run for a in studies), "README shows --dry-run"
    for args in studies:  # every one the same plan: the spec's, into the spec's folder
        other = study_cli.load_plan(args.spec, args.out, args.set)
        assert plan_argvs(other) == plan_argvs(plan), args
    section = "\n".join(readme_blocks(HMDB51_SECTION))
    assert f"{plan.out}/{study_plan.REPORT}" in section  # where the docs say the report is


def test_the_demo_on_videos_runs_the_hmdb51_study_on_three_splits():
    hmdb51 = study_cli.load_plan(HMDB51_SPEC, "out", [])
    videos = demo.plan("out", videos="v", splits="s", split=(1, 2, 3))
    converts = [s for j in videos.jobs for s in j.steps if s[0] == "convert"]
    assert sorted(_flag(list(c), "--split") for c in converts) == ["1", "2", "3"]
    # The same runs, compared in one report over the three splits; only the data differ.
    assert videos.compared() == hmdb51.compared()
    assert [j.id for j in videos.jobs if j.is_run] == [j.id for j in hmdb51.jobs if j.is_run]


# README as a front door: short, and every page it points to is there.

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
REPO_PATH = re.compile(  # a path from the repository's root, e.g. `trainer/registry.py`
    r"(?<![\w/.-])((?:pipeline|trainer|tuning|report|vidrec|tests|benchmarks|studies|docs)"
    r"/[\w./-]*\w\.(?:py|md|toml|sh|png))\b")


def _slug(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # not inside code blocks
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]  # no URLs


def test_readme_is_a_front_door_under_200_lines():
    lines = README.read_text().count("\n")
    assert lines < README_MAX_LINES, (
        f"README.md has {lines} lines: move a section to docs/ and link it")
    titles = [title for _, _, title in headings(README.read_text())]
    for title in ("The answer on the embedded synthetic data", "Set-up: two commands",
                  "The stages", "Layout"):
        assert title in titles, title
    assert "make test-fast" in README.read_text()


# The headings users search for, each in README or in the docs page its section moved to.
SEARCHED_HEADINGS = (
    "The answer on the embedded synthetic data", "Set-up: two commands", "Layout",
    "Benchmarks (measured, not guessed)", WALKTHROUGH_SECTION, "How the comparison stays fair",
    HMDB51_SECTION, "A study in one file: `vidrec study`", "Multi-GPU and several machines",
    "Dataflow", "In the cloud: one build", "TensorBoard: the whole comparison in one place",
    "Look before you train: `vidrec inspect`", "Tuning and the feature cache",
    "Reliability: what survives a fault", "Identical reruns and seeds", "Record format")


def test_every_searched_heading_is_in_readme_or_docs():
    titles = [title for path in doc_files() for _, _, title in headings(path.read_text())]
    for heading in SEARCHED_HEADINGS:
        assert titles.count(heading) == 1, f"heading {heading!r} {titles.count(heading)} times"


@pytest.mark.parametrize("path", doc_files(), ids=_name)
def test_every_link_in_readme_and_docs_points_to_a_file_there(path):
    for target in _links(path):
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        assert linked.is_file(), f"{_name(path)} links {target}: no such file"
        if anchor and linked.suffix == ".md":
            slugs = {_slug(title) for _, _, title in headings(linked.read_text())}
            assert anchor in slugs, f"{_name(path)} links {target}: no such heading"


def test_readme_links_every_docs_page():
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in _links(README)}
    for page in doc_files()[1:]:
        assert page.resolve() in linked, f"README does not link {_name(page)}"
    assert (ROOT / "docs" / "extending.md").resolve() in linked


# Files the docs tell you to write (docs/extending.md's example model), not files of the tree.
FILES_TO_WRITE = {"trainer/temporal/maxpool.py"}


@pytest.mark.parametrize("path", doc_files(), ids=_name)
def test_every_repository_file_readme_and_docs_name_exists(path):
    """A renamed module or test is renamed in the docs too."""
    for named in set(REPO_PATH.findall(path.read_text())) - FILES_TO_WRITE:
        assert (ROOT / named).exists(), f"{_name(path)} names {named}: no such file"

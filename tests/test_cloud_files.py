"""cloudbuild.yaml and the Dockerfile say what the code accepts: every `vidrec` command in them
parses with the project's own parsers, every file they copy or reference exists, every
substitution they use is declared (and every declared one used), the image matches the
Beam/Python versions that submit Dataflow jobs, and the Vertex AI jobs run every shard of
studies/hmdb51.toml, the study docs/hmdb51.md runs, on the splits the build converts."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import apache_beam
import pytest
import yaml
from cli_parsers import (
    compared_recipes,
    compared_seed_lists,
    parse,
    plan_argvs,
    readme_commands,
)
from packaging.requirements import Requirement

from vidrec import cli
from vidrec.study import cli as study_cli
from vidrec.study import plan as study_plan

try:
    import tomllib
except ImportError:  # Python 3.10: pytest brings tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CLOUDBUILD = ROOT / "cloudbuild.yaml"
DOCKERFILE = ROOT / "Dockerfile"
BEAM_BOOT = "/opt/apache/beam/boot"
HMDB51_SPEC = "studies/hmdb51.toml"

# Cloud Build's built-in substitutions (cloud.google.com/build/docs/configuring-builds/
# substitute-variable-values), with stand-ins that look real to the parsers.
BUILTINS = {
    "PROJECT_ID": "my-project-123", "PROJECT_NUMBER": "123456789012",
    "BUILD_ID": "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9", "LOCATION": "us-central1",
    "TRIGGER_NAME": "vidrec", "COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567",
    "REVISION_ID": "0123456789abcdef0123456789abcdef01234567", "SHORT_SHA": "0123456",
    "REPO_NAME": "vidrec", "REPO_FULL_NAME": "me/vidrec", "BRANCH_NAME": "main",
    "TAG_NAME": "v1", "REF_NAME": "main", "TRIGGER_BUILD_CONFIG_PATH": "cloudbuild.yaml",
    "SERVICE_ACCOUNT_EMAIL": "sa@my-project-123.iam.gserviceaccount.com",
    "SERVICE_ACCOUNT": "projects/my-project-123/serviceAccounts/sa",
}
# `$$` escapes a dollar for the step's shell; otherwise $NAME / ${NAME} is a substitution.
_CLOUDBUILD_VAR = re.compile(r"\$\$|\$\{(\w+)\}|\$(\w+)")
_SHELL_VAR = re.compile(r"\$\{\w+\}|\$\w+")
_SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")", ";;"}
_KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "exec", "time"}
_FOR_LOOP = re.compile(r"^\s*for (\w+) in (.+?); do$", re.M)
_HEREDOC = re.compile(r"cat\s*>\s*(\S+)\s*<<-?\s*(['\"]?)(\w+)\2[^\n]*\n(.*?)\n\3(?:\n|$)", re.S)


# --------------------------------------------------------------------------- shell scripts

def _heredocs(script: str) -> list[tuple[str, str]]:
    """(path, body) of each `cat > PATH <<EOF ... EOF` in a script."""
    return [(m.group(1), m.group(4)) for m in _HEREDOC.finditer(script)]


def _shell_commands(script: str) -> list[list[str]]:
    """Simple commands of a shell script (heredoc bodies left out), each as its words."""
    script = _HEREDOC.sub(lambda m: f"cat > {m.group(1)}\n", script).replace("\\\n", " ")
    commands = []
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        for token in list(lexer) + [";"]:
            if token in _SEPARATORS:
                if current:
                    commands.append(current)
                current = []
            elif not current and token in _KEYWORDS:
                continue
            else:
                current.append(token)
    return commands


def _loop_iterations(script: str) -> list[tuple[str, str]]:
    """(value, script with $VAR replaced by it) for each value of the script's first
    `for VAR in WORDS; do` (or `$(seq 1 N)`) loop: what each iteration runs."""
    match = _FOR_LOOP.search(script)
    assert match, f"no `for VAR in ...; do` loop in {script!r}"
    var, words = match.groups()
    seq = re.fullmatch(r"\$\(seq 1 (\d+)\)", words.strip())
    values = [str(i) for i in range(1, int(seq.group(1)) + 1)] if seq else words.split()
    variable = re.compile(rf"\$\{{{var}\}}|\${var}\b")
    return [(value, variable.sub(value, script)) for value in values]


def _vidrec_argvs(script: str) -> list[list[str]]:
    """`vidrec ...` commands of a script, without `vidrec`, up to any redirection."""
    argvs = []
    for words in _shell_commands(script):
        if words[0] == "vidrec":
            cut = next((i for i, w in enumerate(words) if w[0] in "<>" or w[:2] in ("2>", "1>")),
                       len(words))
            # A shell variable stands for "1": a value every flag that takes one accepts
            # (a split number, a path, a count).
            argvs.append([_SHELL_VAR.sub("1", w) for w in words[1:cut]])
    return argvs


# --------------------------------------------------------------------------- cloudbuild.yaml

def _config() -> dict:
    return yaml.safe_load(CLOUDBUILD.read_text())


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _used_names(config: dict) -> set[str]:
    body = {k: v for k, v in config.items() if k != "substitutions"}
    return {m.group(1) or m.group(2) for s in _strings(body)
            for m in _CLOUDBUILD_VAR.finditer(s) if m.group(0) != "$$"}


def _substitute(node, values: dict[str, str]):
    """The build as Cloud Build runs it: substitutions replaced, `$$` turned into `$`."""
    if isinstance(node, str):
        return _CLOUDBUILD_VAR.sub(
            lambda m: "$" if m.group(0) == "$$" else values[m.group(1) or m.group(2)], node)
    if isinstance(node, dict):
        return {k: _substitute(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, values) for v in node]
    return node


def _resolved() -> dict:
    config = _config()
    values = {**BUILTINS, **config["substitutions"]}
    return _substitute({k: v for k, v in config.items() if k != "substitutions"}, values)


def _script(step: dict) -> str | None:
    args = step.get("args") or []
    if step.get("entrypoint") in ("bash", "sh") and len(args) >= 2 and args[0] == "-c":
        return args[1]
    return None


def _job_specs(build: dict) -> list[tuple[str, dict]]:
    """(file, CustomJobSpec) of every Vertex AI job spec a step writes."""
    specs = []
    for step in build["steps"]:
        script = _script(step) or ""
        for path, body in _heredocs(script):
            spec = yaml.safe_load(body)
            if isinstance(spec, dict) and "workerPoolSpecs" in spec:
                specs.append((path, spec))
    return specs


def _container_argvs(spec: dict) -> list[list[str]]:
    argvs = []
    for pool in spec["workerPoolSpecs"]:
        container = pool["containerSpec"]
        command = container.get("command") or []
        args = [str(a) for a in container.get("args") or []]
        if command == ["vidrec"]:
            argvs.append(args)
        elif command[:2] in (["bash", "-c"], ["sh", "-c"]):
            argvs += _vidrec_argvs(" ".join(command[2:] + args[:1]))
        else:
            raise AssertionError(f"job container runs {command!r}: expected vidrec or bash -c")
    return argvs


def _cloudbuild_argvs(build: dict) -> list[list[str]]:
    argvs = []
    for step in build["steps"]:
        if step.get("entrypoint") == "vidrec":
            argvs.append([str(a) for a in step.get("args", [])])
        script = _script(step)
        if script is not None:
            argvs += _vidrec_argvs(script)
    for _, spec in _job_specs(build):
        argvs += _container_argvs(spec)
    return argvs


def _pushed_image(build: dict) -> str:
    pushes = [s["args"][1] for s in build["steps"]
              if s["name"].startswith("gcr.io/cloud-builders/docker") and s["args"][0] == "push"]
    assert len(pushes) == 1, pushes
    return pushes[0]


def _flag(argv: list[str], name: str) -> str | None:
    for i, word in enumerate(argv):
        if word == name and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


def _step(build: dict, step_id: str) -> dict:
    (step,) = [s for s in build["steps"] if s.get("id") == step_id]
    return step


def _converts(build: dict) -> list[list[str]]:
    """The `vidrec convert` of each iteration of the convert step's loop over splits."""
    return [a for _, script in _loop_iterations(_script(_step(build, "convert")))
            for a in _vidrec_argvs(script) if a[0] == "convert"]


def _shard_studies(build: dict) -> list[list[str]]:
    """The `vidrec study` of the Vertex AI job each iteration of the train step writes."""
    argvs = []
    for _, script in _loop_iterations(_script(_step(build, "train"))):
        specs = [yaml.safe_load(body) for _, body in _heredocs(script)]
        argvs += [a for spec in specs for a in _container_argvs(spec)]
    assert all(a[0] == "study" for a in argvs), argvs
    return argvs


# --------------------------------------------------------------------------- Dockerfile

def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, rest) of the Dockerfile, continuation lines joined, comments dropped."""
    lines = [ln for ln in DOCKERFILE.read_text().splitlines() if not ln.lstrip().startswith("#")]
    text = "\n".join(lines).replace("\\\n", "")
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln.strip() else "")
            for ln in text.splitlines() if ln.strip()]


def _arg_defaults() -> dict[str, str]:
    return dict(rest.split("=", 1) for op, rest in _instructions() if op == "ARG" and "=" in rest)


def _expand(text: str) -> str:
    args = _arg_defaults()
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)),
                  text)


def _pip_requirements() -> list[Requirement]:
    """Every requirement named on a `pip install` line (local paths excluded)."""
    reqs = []
    for op, rest in _instructions():
        if op != "RUN":
            continue
        for words in _shell_commands(_expand(rest)):
            if words[:2] == ["pip", "install"] or words[1:4] == ["-m", "pip", "install"]:
                i = words.index("install")
                reqs += [Requirement(w) for w in words[i + 1:]
                         if not w.startswith(("-", "/", "."))]
    return reqs


def _project_dependencies() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    deps += [d for extra in project["optional-dependencies"].values() for d in extra]
    return [Requirement(d) for d in deps]


# --------------------------------------------------------------------------- tests

def test_substitutions_are_declared_and_used():
    config = _config()
    declared = config["substitutions"]
    used = _used_names(config)
    assert all(re.fullmatch(r"_[A-Z0-9_]+", name) for name in declared), declared
    assert all(isinstance(value, str) and value for value in declared.values()), (
        "Cloud Build substitution defaults must be non-empty strings: quote numbers and booleans")
    undeclared = {n for n in used if n.startswith("_")} - set(declared)
    assert not undeclared, f"used but not declared: {undeclared}"
    assert set(declared) <= used, f"declared, never used: {set(declared) - used}"
    assert {n for n in used if not n.startswith("_")} <= set(BUILTINS)
    expected = {"_REGION", "_BUCKET", "_TAG", "_MACHINE_TYPE", "_ACCELERATOR_TYPE",
                "_ACCELERATOR_COUNT", "_REPOSITORY", "_SHARDS"}
    assert expected <= set(declared)
    assert int(declared["_SHARDS"]) >= 1 and int(declared["_ACCELERATOR_COUNT"]) >= 1


def test_every_cloudbuild_vidrec_command_parses():
    build = _resolved()
    argvs = _cloudbuild_argvs(build) + _converts(build) + _shard_studies(build)
    assert {a[0] for a in argvs} == {"convert", "study"}, argvs
    for argv in argvs:
        parse(argv)  # raises / exits on a flag or value the code does not know
    # ... and every command the jobs' study runs, with the jobs' own --out and --set values.
    for argv in _shard_studies(build):
        args = study_cli.build_parser().parse_args(argv[1:])
        commands = plan_argvs(study_cli.load_plan(args.spec, args.out, args.set))
        assert {"train", "embed", "evaluate", "tune", "compare"} <= {c[0] for c in commands}
        for command in commands:
            parse(command)


def test_the_pipeline_runs_the_pushed_image_everywhere():
    build = _resolved()
    image = _pushed_image(build)
    docker_build = next(s["args"] for s in build["steps"] if s.get("args", [""])[0] == "build")
    assert _flag(docker_build, "-t") == image
    order = [s.get("args", [""])[0] for s in build["steps"]]
    users = [i for i, s in enumerate(build["steps"])
             if order[i] not in ("build", "push") and any(image in t for t in _strings(s))]
    assert users and min(users) > order.index("push") > order.index("build"), (
        "a step uses the image before it is built and pushed")

    (convert,) = [a for a in _cloudbuild_argvs(build) if a[0] == "convert"]
    assert _flag(convert, "--runner") == "DataflowRunner"
    assert _flag(convert, "--sdk_container_image") == image
    for option in ("--project", "--region", "--temp_location"):
        assert _flag(convert, option), f"the Dataflow job needs {option}"
    assert _flag(convert, "--temp_location").startswith("gs://")

    specs = _job_specs(build)
    assert len(specs) >= 1, "a training job"
    defaults = _config()["substitutions"]
    for _, spec in specs:
        (pool,) = spec["workerPoolSpecs"]
        assert pool["containerSpec"]["imageUri"] == image
        assert pool["machineSpec"]["machineType"] == defaults["_MACHINE_TYPE"]
        assert pool["machineSpec"]["acceleratorCount"] >= 2, "a machine with several GPUs"
        assert pool["replicaCount"] == 1


def test_every_file_the_build_references_exists():
    build = _resolved()
    docker_build = next(s["args"] for s in build["steps"] if s.get("args", [""])[0] == "build")
    dockerfile, context = _flag(docker_build, "-f"), docker_build[-1]
    assert (ROOT / context / dockerfile).resolve() == DOCKERFILE
    created = {path for s in build["steps"] for path, _ in _heredocs(_script(s) or "")}
    configs = [c for s in build["steps"] for c in _shell_commands(_script(s) or "")
               if c[:4] == ["gcloud", "ai", "custom-jobs", "create"]]
    assert len(configs) >= 1
    for words in configs:
        path = _flag(words, "--config")
        assert path in created or (ROOT / path).is_file(), f"--config {path} is never written"
        assert _flag(words, "--region") and _flag(words, "--display-name")


def test_dockerfile_copies_only_what_exists_and_is_not_ignored():
    ignored = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()
               if p.strip() and not p.startswith("#")]
    copies = [rest for op, rest in _instructions() if op in ("COPY", "ADD")]
    assert copies
    sources = []
    for rest in copies:
        words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        sources += [w for w in words[:-1] if not w.startswith("--")]
    for src in sources:
        assert list(ROOT.glob(src)), f"COPY {src}: no such file in the repository"
        parts = Path(src).parts
        for i in range(len(parts)):
            prefix = "/".join(parts[:i + 1])
            assert not any(fnmatch.fnmatch(prefix, p) for p in ignored), (
                f"COPY {src}: excluded by .dockerignore")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = {p.split(".")[0] for p in project["tool"]["setuptools"]["packages"]} | {
        "pyproject.toml",
                                                                project["project"]["readme"]}
    assert needed <= {Path(s).parts[0] for s in sources}, needed - {Path(s).parts[0]
                                                                   for s in sources}


def test_dockerfile_is_the_beam_sdk_image_of_our_beam_and_python():
    instructions = _instructions()
    (base,) = [_expand(rest) for op, rest in instructions if op == "FROM"]
    match = re.fullmatch(r"apache/beam_python(\d+\.\d+)_sdk:(\S+)", base.strip())
    assert match, base
    python, beam = match.groups()
    assert beam == apache_beam.__version__, (
        f"the image has Beam {beam}, jobs are submitted with {apache_beam.__version__}")
    assert python == "%d.%d" % sys.version_info[:2], (
        f"the image has Python {python}, jobs are submitted with Python {sys.version}")
    entrypoints = [rest for op, rest in instructions if op == "ENTRYPOINT"]
    assert entrypoints and json.loads(entrypoints[-1]) == [BEAM_BOOT]
    assert not [op for op, _ in instructions if op == "CMD"], "Dataflow passes the boot its args"
    beam_pins = [r for r in _pip_requirements() if r.name == "apache-beam"]
    assert beam_pins and all(r.specifier == f"=={beam}" for r in beam_pins)


def test_dockerfile_installs_gpu_tensorflow_and_headless_opencv_only():
    reqs = _pip_requirements()
    project = {r.name: r for r in _project_dependencies()}
    (tf,) = [r for r in reqs if r.name == "tensorflow"]
    assert "and-cuda" in tf.extras
    assert tf.specifier == project["tensorflow"].specifier, "the same TensorFlow as pyproject"
    names = {r.name for r in reqs} | set(project)
    assert "opencv-python-headless" in names
    assert "opencv-python" not in names, "opencv-python beside the headless one breaks cv2"
    installs_project = any(re.fullmatch(r"[./]\S*\[gcp\]", w)
                           for op, rest in _instructions() if op == "RUN"
                           for c in _shell_commands(_expand(rest)) if "install" in c for w in c)
    assert installs_project, "the project with its gcp extra (Beam's Dataflow runner)"


def test_every_dockerfile_vidrec_command_parses():
    argvs = [a for op, rest in _instructions() if op in ("RUN", "CMD")
             for a in (_vidrec_argvs(rest) if not rest.startswith("[") else
                       [json.loads(rest)[1:]] if json.loads(rest)[:1] == ["vidrec"] else [])]
    assert argvs, "the build checks the installed CLI"
    for argv in argvs:
        if argv in (["--help"], ["-h"]):
            assert cli.main(argv) == 0
        else:
            parse(argv)


@pytest.mark.parametrize("script, expected", [
    ("set -e\nif python -c 'x'; then\n  vidrec convert --a 1 > /dev/null\nfi",
     [["convert", "--a", "1"]]),
    ("vidrec train --out $OUT && vidrec evaluate r; vidrec \\\n compare a b | tee log",
     [["train", "--out", "1"], ["evaluate", "r"], ["compare", "a", "b"]]),
    ("cat > j.yaml <<'EOF'\nvidrec not-a-command\nEOF\necho vidrec", []),
])
def test_the_shell_reader_finds_every_vidrec_command(script, expected):
    assert _vidrec_argvs(script) == expected


def _job_plans(build: dict) -> list[study_plan.Plan]:
    plans = []
    for argv in _shard_studies(build):
        args = study_cli.build_parser().parse_args(argv[1:])
        plans.append(study_cli.load_plan(args.spec, args.out, args.set))
    return plans


def test_the_build_converts_the_splits_the_study_reads():
    build = _resolved()
    bucket = _config()["substitutions"]["_BUCKET"]
    (plan, *_) = _job_plans(build)
    converts = _converts(build)
    assert [int(_flag(a, "--split")) for a in converts] == list(plan.spec.splits) == [1, 2, 3]
    for argv in converts:  # into exactly the folder the study reads the split from
        k = int(_flag(argv, "--split"))
        assert _flag(argv, "--output") == f"gs://{bucket}/hmdb51/split{k}"
        assert _flag(argv, "--output") == study_plan.data_dir(plan.spec, plan.out, k)
    # The same conversion as docs/hmdb51.md's (its --frame-size, ...), into the bucket instead.
    readme = [c for c in readme_commands("HMDB51 for real") if c[0] == "convert"]
    for flag in ("--frame-size", "--fps", "--max-frames", "--resize-mode", "--val-fraction"):
        assert {_flag(a, flag) for a in converts} == {_flag(a, flag) for a in readme}, flag


def test_the_jobs_run_every_shard_of_the_readme_study():
    build = _resolved()
    defaults = _config()["substitutions"]
    shards = int(defaults["_SHARDS"])
    argvs = _shard_studies(build)
    parsed = [study_cli.build_parser().parse_args(a[1:]) for a in argvs]
    assert sorted(a.shard for a in parsed) == [f"{i}/{shards}" for i in range(1, shards + 1)]
    assert {a.spec for a in parsed} == {HMDB51_SPEC}
    assert {a.parallel for a in parsed} == {int(defaults["_ACCELERATOR_COUNT"])}  # one per GPU
    assert not any(a.dry_run or a.status or a.overwrite for a in parsed)
    without_shard = [[w for w in a if not re.fullmatch(r"\d+/\d+", w)] for a in argvs]
    assert all(a == without_shard[0] for a in without_shard), "shards of one study"
    plans = _job_plans(build)
    # Every shard over one folder in the bucket (through the /gcs mount): they share state.
    assert {p.out for p in plans} == {f"/gcs/{defaults['_BUCKET']}/runs"}
    # The docs' plan, the same jobs: docs/hmdb51.md runs `vidrec study studies/hmdb51.toml` as is.
    readme = [c for c in readme_commands("HMDB51 for real") if c[0] == "study"]
    assert readme, "the HMDB51 section (docs/hmdb51.md) runs the study"
    for command in readme:
        args = study_cli.build_parser().parse_args(command[1:])
        readme_plan = study_cli.load_plan(args.spec, args.out, args.set)
        for plan in plans:
            assert [j.id for j in plan.jobs] == [j.id for j in readme_plan.jobs]
            assert plan.compared() == [g.replace(readme_plan.out, plan.out, 1)
                                       for g in readme_plan.compared()]
    # Every shard gets runs to train.
    plan = plans[0]
    assert {study_plan.shard_of(plan, j.id, shards) for j in plan.jobs if j.is_run} == set(
        range(1, shards + 1))


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_runs_the_train_step_into_one_job_per_shard(tmp_path):
    """The quoting survives YAML, the heredoc and both shells: the train step, run by bash
    (gcloud stubbed), writes one job spec per shard, whose container command, run by bash,
    gives the very `vidrec study` argvs the other tests read."""
    build = _resolved()
    script = _script(_step(build, "train")).replace("/workspace", str(tmp_path))
    stub = 'gcloud() { echo "$@" >> "%s/gcloud.log"; }\n' % tmp_path
    subprocess.run(["bash", "-c", stub + script], check=True, timeout=60)
    created = [line.split() for line in (tmp_path / "gcloud.log").read_text().splitlines()]
    shards = int(_config()["substitutions"]["_SHARDS"])
    assert len(created) == shards and all(w[:3] == ["ai", "custom-jobs", "create"]
                                          for w in created)
    argvs = []
    for words in created:
        spec = yaml.safe_load(Path(_flag(words, "--config")).read_text())
        (pool,) = spec["workerPoolSpecs"]
        command = pool["containerSpec"]["command"] + pool["containerSpec"]["args"]
        assert command[:2] == ["bash", "-c"]
        printed = subprocess.run(
            ["bash", "-c", 'vidrec() { printf "%s\\0" "$@"; }; ' + command[2]],
            check=True, capture_output=True, text=True, timeout=60).stdout
        argvs.append(printed.split("\0")[:-1])
    assert argvs == _shard_studies(build)


def test_the_cloud_jobs_run_the_like_for_like_recipe_over_the_three_splits():
    (plan, *_) = _job_plans(_resolved())
    argvs = plan_argvs(plan)
    recipes = compared_recipes(argvs)
    assert {r["temporal"]["model"] for r in recipes.values()} == {
        "frame", "pooled", "recurrent", "temporal_conv", "attention"}
    for k in plan.spec.splits:
        shared = [r["shared"] for run, r in recipes.items() if f"/split{k}/" in run]
        assert len(shared) == 5 and all(s == shared[0] for s in shared), (
            f"split {k}: the compared runs differ beyond time")
        assert shared[0]["encoder_trainable"] == "frozen"
    assert compared_seed_lists(argvs) == {"0,1,2"}  # every model under the same 3 seeds
    encoder = next(a for a in argvs if a[0] == "train" and "--features" not in a)
    assert _flag(encoder, "--trainable-top-layers") == "4" and _flag(encoder, "--encoder") == \
        "vgg16"
    bucket = _config()["substitutions"]["_BUCKET"]
    for argv in argvs:  # TensorBoard logs in the bucket, per split
        if argv[0] in ("train", "tune"):
            split = re.search(r"/split(\d)/", _flag(argv, "--out")).group(1)
            assert _flag(argv, "--log-root") == f"gs://{bucket}/runs/tensorboard/split{split}"
    (compare,) = [a for a in argvs if a[0] == "compare"]
    runs = [w for w in compare[1:] if not w.startswith("-") and w != _flag(compare, "--out")]
    assert {f"split{k}/runs/{m}" for k in (1, 2, 3)
            for m in ("frame", "pooled", "lstm", "conv", "attention")} | {
        f"split{k}/tune/best" for k in (1, 2, 3)} == {"/".join(r.split("/")[-3:]) for r in runs}

"""`vidrec study`: the spec's checks, its plan, shards, resources, and the runner's resume,
failure and overwrite rules (with a fake worker that runs no vidrec command; the real
thing end to end is in test_vidrec_demo.py)."""

import json
import os
import sys
from pathlib import Path

import pytest

from vidrec import cli
from vidrec.study import cli as study_cli
from vidrec.study import plan as study_plan
from vidrec.study import spec as study_spec
from vidrec.study import worker
from vidrec.study.resources import Pool

HELPERS = Path(__file__).parent / "helpers"

SPEC = """
[study]
name = "mini"
splits = [1]
seeds = [0, 1]

[data]
converted = "{data}/split{{split}}"

[train]
epochs = 2

[[run]]
name = "frame"
model = "frame"

[[run]]
name = "lstm"
model = "recurrent"
hidden = 16

[evaluate]
orders = ["shuffled"]
"""


def _spec(tmp_path, text=SPEC, splits=(1,), name="mini.toml"):
    data = tmp_path / "data"
    for k in splits:
        (data / f"split{k}").mkdir(parents=True, exist_ok=True)
        (data / f"split{k}" / "manifest.json").write_text("{}")
    path = tmp_path / name
    path.write_text(text.format(data=data))
    return str(path)


def _study(capsys, *argv):
    code = cli.main(["study", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- the spec

@pytest.mark.parametrize("change, message", [
    (("hidden = 16", "hiden = 16"), "[[run]] #2 'lstm': unknown key 'hiden' (not a flag of "
                                    "vidrec train, nor one of gpus, name)"),
    (('name = "lstm"', 'name = "frame"'), "run name 'frame' is used twice"),
    (("seeds = [0, 1]", "seeds = [0, 1, 1]"), "seeds lists seed 1 more than once"),
    (("splits = [1]", "splits = [4]"), "splits must list official splits 1, 2, 3"),
    (("epochs = 2", 'out = "x"'), "[train]: 'out' is set by the study itself"),
    (("[evaluate]", "[evaluation]"), "unknown key 'evaluation'"),
    (('orders = ["shuffled"]', 'orders = ["natural"]'), "orders must list shuffled, reversed"),
    (("epochs = 2", "epochs = {{a = 1}}"), "'epochs' must be a number, string, boolean"),
    (('name = "lstm"', 'name = "encoder"'), "the name 'encoder' is the study's own"),
])
def test_a_bad_spec_is_one_line_naming_file_and_key_before_any_work(tmp_path, capsys, change,
                                                                   message):
    path = _spec(tmp_path, SPEC.replace(*change))
    code, out, err = _study(capsys, path, "--out", str(tmp_path / "out"))
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"vidrec study: error: {path}: ") and message in err, err
    assert not (tmp_path / "out").exists()


def test_a_split_the_data_does_not_have_is_refused_before_any_work(tmp_path, capsys):
    path = _spec(tmp_path, SPEC.replace("splits = [1]", "splits = [1, 2]"))
    code, _, err = _study(capsys, path, "--out", str(tmp_path / "out"))
    assert code == 2 and err.count("\n") == 1
    assert "split 2:" in err and "split2' has no manifest.json" in err
    assert not (tmp_path / "out").exists()
    videos = tmp_path / "videos"
    (videos / "walk").mkdir(parents=True)
    (tmp_path / "splits").mkdir()
    (tmp_path / "splits" / "walk_test_split1.txt").write_text("a.avi 1\n")
    text = SPEC.replace('converted = "{data}/split{{split}}"',
                        f'videos = "{videos}"\nsplit_files = "{tmp_path}/splits"')
    code, _, err = _study(capsys, _spec(tmp_path, text.replace("[1]", "[1, 3]")),
                          "--out", str(tmp_path / "out"))
    assert code == 2 and "split 3: no *_test_split3.txt in split_files" in err


def test_set_overrides_a_spec_value_as_toml(tmp_path):
    path = _spec(tmp_path)
    spec = study_plan.expand(study_spec.load(path, dict(
        [study_spec.parse_set("study.seeds=[3]"), study_spec.parse_set("train.epochs=7")])))
    assert spec.spec.seeds == (3,) and "--epochs 7" in " ".join(spec.jobs[0].steps[0])
    with pytest.raises(study_spec.SpecError, match="--set takes KEY=VALUE"):
        study_spec.parse_set("seeds")


# --------------------------------------------------------------------------- the plan

def test_the_demo_plan_is_split_by_run_by_seed_with_evaluations_and_one_report():
    from vidrec import demo

    plan = demo.plan("o", split=(1, 2))
    ids = [j.id for j in plan.jobs]
    assert ids[:4] == ["synth", "split1/data", "split1/encoder", "split1/frame/seed0"]
    assert ids[-1] == "report" and ids[-2] == "split2/tune"
    runs = [j for j in plan.jobs if j.is_run and j.group]
    assert len(runs) == 2 * 5 * 3  # splits x runs x seeds
    lstm = plan.job("split2/recurrent/seed1")
    assert lstm.steps[0][-4:] == ("--seed", "1", "--out", "o/split2/runs/recurrent/seed1")
    assert "--features" in lstm.steps[0] and lstm.deps == ("split2/encoder",)
    assert [s[-1] for s in lstm.steps[1:]] == ["o/split2/runs/recurrent/seed1", "shuffled",
                                              "reversed"]
    assert len(plan.job("split1/frame/seed0").steps) == 2  # one frame: natural order only
    (compare,) = plan.job("report").steps
    assert compare[1:13] == tuple(plan.compared()) and len(plan.compared()) == 12
    assert set(plan.job("report").deps) == {j.id for j in plan.jobs if j.is_run}


def test_the_camera_study_films_real_footage_then_trains_every_run_from_scratch():
    """studies/camera.toml: `vidrec camera` in OUT/raw, converted, no encoder stage (every run
    learns its own encoder from scratch), the spatial and pixel-difference runs' flags."""
    plan = study_plan.expand(study_spec.load("studies/camera.toml"), "o")
    assert plan.jobs[0].id == "camera" and plan.jobs[0].steps[0][:2] == ("camera", "o/raw")
    assert plan.job("split1/data").steps[0][:5] == ("convert", "--videos", "o/raw/videos",
                                                    "--splits", "o/raw/splits")
    assert not any(j.id.endswith("/encoder") for j in plan.jobs)
    convlstm = " ".join(plan.job("split1/convlstm/seed2").steps[0])
    assert "--model convlstm --feature-layer block2_pool" in convlstm
    assert "--frame-input both" in " ".join(plan.job("split1/recurrent_diff/seed0").steps[0])
    assert study_plan.shard_of(plan, "camera", 3) == 1
    with pytest.raises(study_spec.SpecError, match="give exactly one of synth, camera, videos"):
        study_spec.load("studies/camera.toml", {"data.synth": {"frames": 8}})


@pytest.mark.parametrize("shards", [1, 2, 3, 5])
def test_shards_split_the_runs_whole_disjoint_and_complete(shards):
    plan = study_cli.load_plan("studies/hmdb51.toml", "runs", [])
    owners = {j.id: study_plan.shard_of(plan, j.id, shards) for j in plan.jobs}
    runs = [j.id for j in plan.jobs if j.is_run]
    assert all(1 <= owners[r] <= shards for r in runs)
    counts = [sum(owners[r] == i for r in runs) for i in range(1, shards + 1)]
    assert sum(counts) == len(runs) and max(counts) - min(counts) <= 1
    assert owners["report"] == 0  # whichever shard finishes last
    assert owners == {j.id: study_plan.shard_of(plan, j.id, shards) for j in plan.jobs}
    with pytest.raises(ValueError, match="--shard takes I/N"):
        study_plan.parse_shard("3/2")


def test_dry_run_prints_every_command_and_writes_nothing(tmp_path, capsys):
    code, out, _ = _study(capsys, _spec(tmp_path), "--out", str(tmp_path / "o"), "--dry-run",
                          "--shard", "1/2")
    assert code == 0 and not (tmp_path / "o").exists()
    commands = [ln for ln in out.splitlines() if ln.startswith("vidrec ")]
    assert len(commands) == 2 * 2 + 2 * 3 + 1  # frame: train+eval, lstm: +shuffled; compare
    assert "# split1/lstm/seed1 (shard 2/2)" in out and "# report (the last shard" in out


# --------------------------------------------------------------------------- resources

def test_gpus_go_to_one_job_each_and_a_multi_gpu_run_gets_several():
    pool = Pool(3, gpus=["0", "1", "2"], cpus=[0, 1])
    slot, two = pool.take(2)
    assert two == ["0", "1"] and pool.environment(two)["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert not pool.fits(2) and pool.fits(1)
    _, one = pool.take(1)
    assert one == ["2"] and not pool.fits(1)
    pool.give_back(slot, two)
    assert pool.fits(2) and pool.pin(slot) is None  # GPUs: no core pinning


def test_without_gpus_the_cores_are_shared_out_with_a_whole_machines_thread_pools(
        monkeypatch):
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    monkeypatch.setattr("vidrec.study.resources.cpu_ids", lambda: [0, 1])
    pool = Pool(2, gpus=[], cpus=[0, 1])
    assert pool.slots == [{0}, {1}] and pool.pin(1) is not None
    env = pool.environment([])  # the numbers of a job do not depend on --parallel
    assert env["TF_NUM_INTRAOP_THREADS"] == env["TF_NUM_INTEROP_THREADS"] == "2"
    assert "TF_NUM_INTRAOP_THREADS" not in Pool(1, gpus=[], cpus=[0, 1]).environment([])
    assert Pool(2, gpus=[], cpus=[0, 1, 2, 3]).slots == [{0, 1}, {2, 3}]
    assert Pool(1, gpus=[], cpus=[0, 1]).slots == [None]  # one at a time: every core
    assert Pool(2, gpus=[], cpus=[0, 1]).needs(1) == 0


# --------------------------------------------------------------------------- the runner

@pytest.fixture
def fake(tmp_path, monkeypatch):
    """The runner starts the fake worker; returns a function listing the steps it ran."""
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setattr(worker, "MODULE", "fake_study_worker")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HELPERS), *sys.path]))
    monkeypatch.setenv("FAKE_STUDY_CALLS", str(calls))

    def ran():
        if not calls.exists():
            return []
        return [json.loads(line)["argv"] for line in calls.read_text().splitlines()]
    return ran


def test_a_rerun_runs_nothing_twice_and_the_report_once(tmp_path, capsys, fake):
    path, out = _spec(tmp_path), str(tmp_path / "o")
    code, printed, _ = _study(capsys, path, "--out", out)
    assert code == 0, printed
    first = fake()
    assert len(first) == 11 and len({json.dumps(a) for a in first}) == 11
    assert json.load(open(f"{out}/split1/runs/lstm/seeds.json")) == {
        "seeds": [0, 1], "runs": ["seed0", "seed1"]}
    assert "[4/4]" in printed and "done split1/lstm/seed1" in printed
    assert "val video top-1 0.500" in printed and os.path.exists(f"{out}/report/report.md")
    code, printed, _ = _study(capsys, path, "--out", out)
    assert code == 0 and fake() == first and "the report is up to date" in printed
    code, printed, _ = _study(capsys, path, "--out", out, "--status")
    assert "5 jobs: 5 done" in printed


def test_a_failed_run_is_recorded_the_others_go_on_and_the_report_names_it(tmp_path, capsys,
                                                                           fake):
    text = SPEC.replace("[evaluate]", '[[run]]\nname = "broken"\nmodel = "pooled"\n\n[evaluate]')
    path, out = _spec(tmp_path, text), str(tmp_path / "o")
    code, printed, _ = _study(capsys, path, "--out", out)
    assert code == 1
    assert "FAILED split1/broken/seed0 (exit 1)" in printed and "broken on purpose" in printed
    assert f"log {out}/study/logs/split1/broken/seed0.log" in printed
    assert "done split1/lstm/seed1" in printed  # the others went on
    report = open(f"{out}/report/report.md").read()
    assert "## Missing from this study" in report and f"`{out}/split1/runs/broken`" in report
    assert f"{out}/split1/runs/broken" not in fake()[-1]  # compare left it out
    code, printed, _ = _study(capsys, path, "--out", out, "--status")
    assert "split1/broken/seed0" in printed and "failed" in printed and "broken on purpose" \
        in printed


def test_a_changed_spec_is_refused_by_name_and_overwrite_redoes_it_and_what_it_feeds(
        tmp_path, capsys, fake):
    path, out = _spec(tmp_path), str(tmp_path / "o")
    assert _study(capsys, path, "--out", out)[0] == 0
    before = len(fake())
    Path(path).write_text(Path(path).read_text().replace("hidden = 16", "hidden = 32"))
    code, _, err = _study(capsys, path, "--out", out)
    assert code == 2 and err.count("\n") == 1
    assert "holds this study run with another spec: lstm (split1/lstm/seed0: --hidden 16 -> " \
           "32" in err and "--overwrite lstm" in err and len(fake()) == before
    code, printed, _ = _study(capsys, path, "--out", out, "--overwrite", "lstm")
    assert code == 0
    lstm = f"{out}/split1/runs/lstm"
    assert [(a[0], a[-1]) for a in fake()[before:]] == [
        ("train", f"{lstm}/seed0"), ("evaluate", f"{lstm}/seed0"), ("evaluate", "shuffled"),
        ("train", f"{lstm}/seed1"), ("evaluate", f"{lstm}/seed1"), ("evaluate", "shuffled"),
        ("compare", f"{out}/report")]  # only lstm's seeds, then the report once more
    assert "--overwrite: removed 3 job(s)' outputs" in printed
    code, _, err = _study(capsys, path, "--out", out, "--overwrite", "lsmt")
    assert code == 2 and "--overwrite 'lsmt': not an entry" in err


def test_steps_added_at_the_end_just_run(tmp_path, capsys, fake):
    path, out = _spec(tmp_path), str(tmp_path / "o")
    assert _study(capsys, path, "--out", out)[0] == 0
    before = len(fake())
    Path(path).write_text(Path(path).read_text().replace('["shuffled"]',
                                                         '["shuffled", "reversed"]'))
    assert _study(capsys, path, "--out", out)[0] == 0
    new = fake()[before:]
    assert [a[-1] for a in new[:-1]] == ["reversed", "reversed"] and new[-1][0] == "compare"


def test_two_shards_run_disjoint_runs_and_the_last_writes_the_report(tmp_path, capsys, fake):
    path, out = _spec(tmp_path), str(tmp_path / "o")
    code, printed, _ = _study(capsys, path, "--out", out, "--shard", "1/2")
    assert code == 0 and "the report waits for 2 run(s)" in printed
    first = fake()
    assert not os.path.exists(f"{out}/report")
    code, printed, _ = _study(capsys, path, "--out", out, "--shard", "2/2")
    assert code == 0 and "report written" in printed
    second = fake()[len(first):]
    trained = [a[-1] for a in first + second if a[0] == "train"]
    assert sorted(trained) == sorted(set(trained)) and len(trained) == 4
    assert {a[-1] for a in first if a[0] == "train"}.isdisjoint(
        a[-1] for a in second if a[0] == "train")
    assert sum(a[0] == "compare" for a in first + second) == 1


def test_two_shard_processes_at_once_over_one_folder_run_disjoint_runs_and_compare_once(
        tmp_path, fake, monkeypatch):
    """Two machines' shards started together: whole runs each, the report written once."""
    import subprocess

    path, out = _spec(tmp_path), str(tmp_path / "o")
    monkeypatch.setenv("FAKE_STUDY_SLEEP", "0.2")  # so that the two overlap
    code = ("import sys; from vidrec.study import worker; worker.MODULE = 'fake_study_worker'; "
            "from vidrec import cli; sys.exit(cli.main(sys.argv[1:]))")
    procs = [subprocess.Popen([sys.executable, "-c", code, "study", path, "--out", out,
                               "--shard", f"{i}/2"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for i in (1, 2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    records = [json.loads(f.read_text()) for f in Path(out, "study", "jobs").rglob("*.json")]
    runs = {r["id"]: r["shard"] for r in records if "/seed" in r["id"]}
    by_shard = [{j for j, s in runs.items() if s == f"{i}/2"} for i in (1, 2)]
    assert by_shard[0] and by_shard[1] and not by_shard[0] & by_shard[1]
    assert by_shard[0] | by_shard[1] == {f"split1/{n}/seed{s}" for n in ("frame", "lstm")
                                         for s in (0, 1)}
    trained = [a[-1] for a in fake() if a[0] == "train"]
    assert sorted(trained) == sorted(set(trained)) and len(trained) == 4
    assert sum(a[0] == "compare" for a in fake()) == 1, "\n=====\n".join(outputs)
    assert sum("report written" in o for o in outputs) == 1


@pytest.mark.slow
def test_a_failed_job_is_retried_by_the_rerun_before_what_needs_it(tmp_path, capsys, fake):
    """A rerun retries a failed job; the jobs that need it wait for it, not blocked."""
    text = SPEC.replace('converted = "{data}/split{{split}}"',
                        'synth = {{clips_per_class = 2}}').replace("[train]", "[train]\n")
    path, out = _spec(tmp_path, text), str(tmp_path / "o")
    broken = Path(path).read_text().replace("clips_per_class = 2", 'classes = "broken"')
    Path(path).write_text(broken)
    code, printed, _ = _study(capsys, path, "--out", out)
    assert code == 1 and "FAILED synth" in printed and "blocked split1/data: needs synth" \
        in printed
    Path(path).write_text(broken.replace('classes = "broken"', "clips_per_class = 2"))
    code, printed, _ = _study(capsys, path, "--out", out)
    assert code == 0 and "blocked split1" not in printed and "done split1/lstm/seed1" in printed


def test_a_job_left_running_by_another_machine_of_its_shard_is_taken_over(tmp_path, capsys,
                                                                          fake):
    """A preempted machine's jobs resume on the machine that replaces it (same shard)."""
    path, out = _spec(tmp_path), str(tmp_path / "o")
    assert _study(capsys, path, "--out", out)[0] == 0
    record_path = Path(out) / "study" / "jobs" / "split1" / "lstm" / "seed1.json"
    record = json.loads(record_path.read_text())
    record.update(state="running", host="preempted-vm", pid=1, steps_done=record["steps"][:1])
    record_path.write_text(json.dumps(record))
    code, printed, _ = _study(capsys, path, "--out", out)
    assert code == 0 and "split1/lstm/seed1 was interrupted: it resumes" in printed
    assert [a[0] for a in fake()[-3:]] == ["evaluate", "evaluate", "compare"]

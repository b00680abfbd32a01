"""Fault injection: `vidrec train` and `vidrec tune` killed with SIGKILL after some progress,
then started again with the same flags, finish as an uninterrupted run would; a resumed
search with other flags is refused. (`vidrec embed` killed: tests/test_trainer_embed.py.)

A resumed run restarts the data stream at its first pass (docs/reliability.md), so
these compare what a resume must keep: the epochs run and recorded once each, the trials'
ids, hyperparameter values and states.
"""

import csv
import dataclasses
import glob
import json
import os

import pytest
from helpers.slowed import run_killed

from tuning import cli as tune_cli
from tuning import search
from vidrec import cli


def _history(run_dir):
    with open(f"{run_dir}/history.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_train_killed_after_an_epoch_resumes_and_finishes(tiny_data, tmp_path, capsys):
    out = str(tmp_path / "run")
    argv = ["train", "--data", tiny_data, "--model", "pooled", "--out", out, "--epochs", "3",
            "--steps-per-epoch", "2", "--batch-size", "4", "--chunk-length", "4",
            "--hidden", "8", "--head-units", "16", "8", "--augment", "none",
            "--patience", "9"]
    run_killed("epoch", 3, argv, lambda: os.path.exists(f"{out}/history.csv")
               and len(_history(out)) >= 1)
    assert not os.path.exists(f"{out}/train_summary.json")
    first = _history(out)[0]
    assert cli.main(argv) == 0
    assert f"resuming the unfinished run in {out}" in capsys.readouterr().out
    summary = json.load(open(f"{out}/train_summary.json"))
    assert summary["epochs_run"] == 3
    rows = _history(out)
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]  # each epoch recorded once
    assert rows[0] == first  # the epoch done before the kill was not trained again
    assert os.path.exists(f"{out}/model.keras") and os.path.exists(f"{out}/eval_val.json")


def _trials(out):
    found = {}
    for path in glob.glob(f"{out}/search/trial_*/trial.json"):
        trial = json.load(open(path))
        found[trial["trial_id"]] = (trial["status"], trial["hyperparameters"]["values"])
    return found


TUNE = ["--model", "recurrent", "--epochs", "1", "--trial-epochs", "1", "--steps-per-epoch",
        "2", "--batch-size", "2", "--head-units", "8", "8", "--augment", "none",
        "--max-trials", "2", "--chunk-range", "2:4", "--chunk-step", "2",
        "--hidden-range", "4:8", "--temporal-types", "lstm,gru", "--cpu-replicas", "2",
        "--no-retrain"]


@pytest.mark.slow
def test_tune_killed_after_a_trial_resumes_to_the_uninterrupted_trials(tiny_data, tmp_path):
    out = str(tmp_path / "tune")
    argv = ["tune", "--data", tiny_data, "--out", out, *TUNE]
    run_killed("trial", 3, argv,
               lambda: any(s == "COMPLETED" for s, _ in _trials(out).values()))
    before = _trials(out)
    assert len([s for s, _ in before.values() if s == "COMPLETED"]) == 1
    assert cli.main(argv) == 0
    after = _trials(out)
    assert len(after) == 2 and {s for s, _ in after.values()} == {"COMPLETED"}
    for trial_id, (status, values) in before.items():  # finished trials kept, as they were
        if status == "COMPLETED":
            assert after[trial_id] == (status, values)
    # An uninterrupted search with the same flags tries the same trials.
    ref = str(tmp_path / "ref")
    args = tune_cli.build_parser().parse_args(["--data", tiny_data, "--out", ref, *TUNE])
    cfg, strategy = tune_cli._setup(args)
    search.search(cfg, strategy)
    assert {k: v for k, (_, v) in _trials(ref).items()} == {
        k: v for k, (_, v) in after.items()}


def test_a_search_resumes_only_with_its_own_flags(tiny_data, tmp_path, capsys):
    out = str(tmp_path / "tune")
    args = tune_cli.build_parser().parse_args(["--data", tiny_data, "--out", out, *TUNE])
    cfg = tune_cli._setup(args)[0]
    assert search.check_resume(cfg) == "new"
    os.makedirs(out)
    with open(f"{out}/{search.CONFIG_NAME}", "w") as f:
        json.dump(search.search_config(cfg), f)
    assert search.check_resume(cfg) == "resume"
    assert search.check_resume(dataclasses.replace(cfg, max_trials=9)) == "resume"  # extends
    other = dataclasses.replace(cfg, base=dataclasses.replace(cfg.base, hidden=64),
                                trial_epochs=2)
    with pytest.raises(search.SearchConfigError,
                       match=r"other flags \(base.hidden 128 -> 64, trial_epochs 1 -> 2\)"):
        search.check_resume(other)
    assert search.check_resume(dataclasses.replace(other, fresh=True)) == "fresh"
    # The command: one line, exit status 2, nothing run.
    wider = [("4:16" if a == "4:8" else a) for a in TUNE]
    assert tune_cli.main(["--data", tiny_data, "--out", out, *wider]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds a search started with other flags (space." in err
    assert "--fresh to start over" in err

"""`vidrec tune`: a tiny search over 2 logical replicas, resume, HParams logs, errors."""

import csv
import dataclasses
import glob
import json
import os

import keras_tuner
import pytest
import tensorflow as tf
from conftest import free_ports, loopback_tf_config

from trainer import distribute
from trainer.config import TrainConfig
from tuning import cli as tune_cli
from tuning import hypermodel, search, space

TINY_SPACE = space.SearchSpace(temporal_types=("lstm", "gru"), hidden=(4, 8), chunk_length=(2, 4),
                               chunk_step=2, learning_rate=(1e-3, 3e-3), dropout=(0.0, 0.2))


def _cfg(data, out, **kw):
    base = TrainConfig(data=data, out=f"{out}/unused", model="recurrent", epochs=1,
                       batch_size=2, cpu_replicas=2, augment="none",
                       head_units=(8, 8))
    return search.TuneConfig(base=base, space=TINY_SPACE, out=out, max_trials=3, **kw)


def _strategy():
    return distribute.make_strategy(TrainConfig(data="", out="", cpu_replicas=2))


def _hparams_trials(log_root):
    """Trial ids whose event files hold an HParams summary (read back from the files)."""
    found = set()
    for trial_dir in glob.glob(f"{log_root}/*/execution0"):
        for path in glob.glob(f"{trial_dir}/**/events.out.tfevents*", recursive=True):
            for event in tf.compat.v1.train.summary_iterator(path):
                if any(v.metadata.plugin_data.plugin_name == "hparams"
                       for v in event.summary.value):
                    found.add(os.path.basename(os.path.dirname(trial_dir)))
    return found


@pytest.mark.slow
def test_search_three_trials_two_replicas_the_same_on_a_rerun_and_best_under_seeds(
        tiny_data, tmp_path):
    """Three trials over 2 replicas; each trial reseeds from (--seed, trial id), so the
    same search again gives the same trials, values and scores; the best is retrained once
    per --seeds seed into OUT/best/seed<N>, each evaluated on test."""
    tables = []
    for k in range(2):
        out = str(tmp_path / f"tune{k}")
        result = search.search(_cfg(tiny_data, out, seeds=(0, 2), retrain_best=k == 0),
                               _strategy())
        with open(f"{out}/trials.csv") as f:
            tables.append(f.read())
        if k == 0:
            best_hp = result["best_hp"]
    out = str(tmp_path / "tune0")
    with open(f"{out}/trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    assert {r["status"] for r in rows} == {"COMPLETED"}
    assert all(r["temporal_type"] in ("lstm", "gru") and 2 <= int(r["chunk_length"]) <= 4
               for r in rows)
    assert _hparams_trials(f"{out}/tensorboard") == {r["trial"] for r in rows}
    assert tables[0] == tables[1]  # the same trials, values and scores, in the same order

    assert json.load(open(f"{out}/best/seeds.json"))["seeds"] == [0, 2]
    for seed in (0, 2):
        evaluation = json.load(open(f"{out}/best/seed{seed}/eval_test.json"))
        assert evaluation["model"] == "recurrent" and evaluation["config"]["seed"] == seed
        assert evaluation["run_name"] == f"best/seed{seed}"
        assert evaluation["config"]["chunk_length"] == best_hp["chunk_length"]
        assert evaluation["config"]["rnn"] == best_hp["temporal_type"]
        assert os.path.exists(f"{out}/best/seed{seed}/model.keras")
    assert not os.path.exists(f"{tmp_path}/tune1/best")  # retrain_best=False


@pytest.mark.slow
def test_search_tunes_the_temporal_part_and_retrains_the_best_like_the_others(
        tiny_data, tmp_path, capsys):
    """Default space: LR and dropout stay the base's; the best gets the base's --epochs;
    a later search replaces OUT/best (saying so) instead of reusing its old files."""
    out = str(tmp_path / "tune")
    temporal_only = dataclasses.replace(TINY_SPACE, learning_rate=None, dropout=None)
    cfg = dataclasses.replace(_cfg(tiny_data, out, trial_epochs=1), space=temporal_only,
                              max_trials=1)
    cfg = dataclasses.replace(cfg, base=dataclasses.replace(cfg.base, epochs=2, patience=5,
                                                            learning_rate=2e-3, dropout=0.25))
    result = search.search(cfg, _strategy())
    assert set(result["best_hp"]) == {"temporal_type", "bidirectional", "hidden", "chunk_length"}
    best = json.load(open(f"{out}/best/config.json"))
    assert (best["learning_rate"], best["dropout"], best["epochs"]) == (2e-3, 0.25, 2)
    trial = json.load(open(glob.glob(f"{out}/search/trial_*/trial.json")[0]))
    assert len(trial["metrics"]["metrics"]["loss"]["observations"]) == 1  # --trial-epochs 1
    assert json.load(open(f"{out}/best/train_summary.json"))["epochs_run"] == 2
    capsys.readouterr()
    again = dataclasses.replace(cfg, fresh=True, base=dataclasses.replace(cfg.base, epochs=1))
    search.search(again, _strategy())
    assert f"replacing {out}/best" in capsys.readouterr().out
    summary = json.load(open(f"{out}/best/train_summary.json"))
    assert summary["epochs_run"] == 1 and len(summary["history"]["loss"]) == 1


@pytest.mark.slow
def test_killed_search_resumes_without_repeating_trials(tiny_data, tmp_path, monkeypatch):
    out = str(tmp_path / "tune")
    fitted = []
    real_fit = hypermodel.TemporalHyperModel.fit

    def dying_fit(self, hp, model, *args, **kwargs):
        if len(fitted) == 1:  # the process dies during the second trial
            raise keras_tuner.errors.FatalError("killed")
        fitted.append(dict(hp.values))
        return real_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(hypermodel.TemporalHyperModel, "fit", dying_fit)
    with pytest.raises(keras_tuner.errors.FatalError):
        search.search(_cfg(tiny_data, out, retrain_best=False), _strategy())
    assert len(fitted) == 1

    monkeypatch.setattr(hypermodel.TemporalHyperModel, "fit",
                        lambda self, *a, **k: fitted.append("resumed") or real_fit(self, *a, **k))
    result = search.search(_cfg(tiny_data, out, retrain_best=False), _strategy())
    # the finished trial is not repeated: the interrupted one restarts, then one more
    assert fitted[1:] == ["resumed", "resumed"]
    assert [r["status"] for r in result["rows"]].count("COMPLETED") == 3


@pytest.mark.slow
def test_failed_trial_is_recorded_and_search_goes_on(tiny_data, tmp_path, monkeypatch):
    out = str(tmp_path / "tune")
    real_fit = hypermodel.TemporalHyperModel.fit
    calls = []

    def sometimes_nan(self, hp, model, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise keras_tuner.errors.FailedTrialError("loss became nan at batch 0")
        return real_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(hypermodel.TemporalHyperModel, "fit", sometimes_nan)
    result = search.search(_cfg(tiny_data, out, retrain_best=False), _strategy())
    statuses = [r["status"] for r in result["rows"]]
    assert statuses.count("FAILED") == 1 and statuses.count("COMPLETED") == 2
    failed = next(r for r in result["rows"] if r["status"] == "FAILED")
    assert "loss became nan" in failed["reason"]


def test_bad_ranges_are_errors_before_anything_runs(tiny_data, tmp_path, capsys):
    with pytest.raises(ValueError, match="min 64 > max 8"):
        space.from_args(tune_cli.build_parser().parse_args(
            ["--data", "d", "--out", "o", "--hidden-range", "64:8"]), max_chunk=12)
    too_long = dataclasses.replace(TINY_SPACE, chunk_length=(2, 40))
    cfg = dataclasses.replace(_cfg(tiny_data, str(tmp_path / "t")), space=too_long)
    with pytest.raises(ValueError, match="exceeds what the data allows"):
        search.search(cfg, _strategy())
    assert not os.path.exists(tmp_path / "t")

    code = tune_cli.main(["--data", tiny_data, "--out", str(tmp_path / "t2"),
                          "--chunk-range", "2:99", "--cpu-replicas", "2"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vidrec tune: error:") and "99" in err and len(err.splitlines()) == 1


# --------------------------------------------------------------------------- distributed


def test_distributed_tuning_needs_all_three_variables(tiny_data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.delenv("KERASTUNER_ORACLE_PORT", raising=False)
    monkeypatch.delenv("KERASTUNER_TUNER_ID", raising=False)
    code = tune_cli.main(["--data", tiny_data, "--out", str(tmp_path / "t"), "--max-trials", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert "missing KERASTUNER_ORACLE_PORT, KERASTUNER_TUNER_ID" in err[-1]
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner0")
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:1"]},
                                                "task": {"type": "worker", "index": 0}}))
    code = tune_cli.main(["--data", tiny_data, "--out", str(tmp_path / "t"), "--max-trials", "1"])
    assert code == 2
    assert "TF_CONFIG and KERASTUNER_* are both set" in capsys.readouterr().err


@pytest.mark.slow
def test_chief_and_two_workers_run_every_trial_exactly_once(tiny_data, tmp_path):
    import re
    import subprocess
    import sys

    port = free_ports(1)[0]
    out = tmp_path / "tune"
    flags = ["--data", tiny_data, "--out", str(out), "--max-trials", "4", "--epochs", "1",
             "--batch-size", "2", "--augment", "none", "--head-units",
             "8", "8", "--hidden-range", "4:8", "--chunk-range", "2:4", "--temporal-types",
             "lstm,gru", "--cpu-replicas", "2", "--no-retrain"]
    procs = {}
    for tuner_id in ("chief", "tuner0", "tuner1"):
        env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
        env.update(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                   KERASTUNER_ORACLE_PORT=str(port), TF_CPP_MIN_LOG_LEVEL="2")
        procs[tuner_id] = subprocess.Popen(
            [sys.executable, "-m", "vidrec.cli", "tune", *flags], env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    logs = {}
    try:
        for tuner_id, p in procs.items():
            logs[tuner_id] = p.communicate(timeout=300)[0]
            assert p.returncode == 0, logs[tuner_id][-3000:]
    finally:
        for p in procs.values():
            p.kill()
    ran = {t: re.findall(r"vidrec tune: (\S+) runs trial (\S+)", logs[t]) for t in procs}
    assert ran["chief"] == []  # the chief serves the oracle, it trains nothing
    trials = [trial for t in ("tuner0", "tuner1") for tuner, trial in ran[t] if tuner == t]
    assert ran["tuner0"] and ran["tuner1"], ran  # both workers took trials
    assert sorted(trials) == sorted(set(trials)) and len(trials) == 4, ran  # each exactly once
    with open(out / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["trial"] for r in rows) == sorted(trials)
    assert {r["status"] for r in rows} == {"COMPLETED"}
    assert sorted(os.listdir(out / "tensorboard")) == sorted(trials)


@pytest.mark.slow
def test_tf_config_cluster_runs_the_same_search_in_lock_step(tiny_data, tmp_path):
    """Two workers of a MultiWorkerMirroredStrategy cluster: every trial trained across both."""
    import re
    import subprocess
    import sys

    ports = free_ports(2)
    out = tmp_path / "tune"
    flags = ["--data", tiny_data, "--out", str(out), "--max-trials", "2", "--epochs", "1",
             "--batch-size", "2", "--augment", "none", "--head-units",
             "8", "8", "--hidden-range", "4:8", "--chunk-range", "2:4", "--temporal-types",
             "lstm,gru"]
    procs = []
    for i in range(2):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER")}
        env.update(TF_CPP_MIN_LOG_LEVEL="2", TF_CONFIG=loopback_tf_config(ports, i))
        procs.append(subprocess.Popen([sys.executable, "-m", "vidrec.cli", "tune", *flags],
                                      env=env, text=True, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT))
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=300)[0])
            assert p.returncode == 0, logs[-1][-3000:]
    finally:
        for p in procs:
            p.kill()
    ran = [re.findall(r"runs trial (\S+) (\{.*\})", log) for log in logs]
    assert len(ran[0]) == 2 and ran[0] == ran[1]  # same trials, same values, same order
    assert "worker 0 of 2" in logs[0] and "worker 1 of 2" in logs[1]  # the retrain too
    with open(out / "trials.csv") as f:
        assert {r["status"] for r in csv.DictReader(f)} == {"COMPLETED"}
    assert (out / "best" / "eval_test.json").exists()
    # the non-chief wrote nothing into OUT: every event file there has the chief's pid
    pids = {int(os.path.basename(p).split(".")[-3]) for p in
            glob.glob(f"{out}/**/events.out.tfevents*", recursive=True)}
    assert pids == {procs[0].pid}


def test_the_tune_flags_come_from_the_search_space():
    import dataclasses as dc

    from trainer.temporal import recurrent

    parser = tune_cli.build_parser()
    flags = {f.metadata["flag"] for f in dc.fields(space.SearchSpace)}
    assert flags <= set(parser._option_string_actions)
    args = parser.parse_args(["--data", "d", "--out", "o"])
    default = space.from_args(args, max_chunk=12)
    assert default == space.SearchSpace(chunk_length=(4, 12))
    assert default.temporal_types == tuple(recurrent.RNNS)  # a new RNN type is picked up
    assert default.learning_rate is None and default.dropout is None
    assert space.HYPERPARAMETERS == ("temporal_type", "bidirectional", "hidden", "conv_layers",
                                     "conv_kernel", "attn_layers", "attn_heads",
                                     "convlstm_layers", "conv21_layers", "chunk_length",
                                     "learning_rate", "dropout")
    asked = space.from_args(parser.parse_args(
        ["--data", "d", "--out", "o", "--lr-range", "1e-3:1e-2", "--bidirectional-choices",
         "true", "--temporal-types", "gru", "--chunk-step", "2"]), max_chunk=12)
    assert (asked.learning_rate, asked.bidirectional, asked.temporal_types, asked.chunk_step) == (
        (1e-3, 1e-2), (True,), ("gru",), 2)
    hp = keras_tuner.HyperParameters()
    asked.declare(hp)
    assert [p.name for p in hp.space] == ["temporal_type", "bidirectional", "hidden",
                                          "chunk_length", "learning_rate"]
    assert space.trial_values(hp).keys() == {"model", "rnn", "bidirectional", "hidden",
                                             "chunk_length", "learning_rate"}
    for bad, match in ((["--bidirectional-choices", "maybe"], "true/false"),
                       (["--chunk-step", "x"], "must be a number")):
        with pytest.raises(ValueError, match=match):
            space.from_args(parser.parse_args(["--data", "d", "--out", "o", *bad]), 12)


@pytest.mark.parametrize("family,model,own", [
    ("conv", "temporal_conv", {"conv_layers", "conv_kernel"}),
    ("attention", "attention", {"attn_layers", "attn_heads"}),
    ("gru", "recurrent", {"rnn", "bidirectional"})])
def test_a_search_spans_temporal_families_each_with_its_own_sizes(family, model, own):
    families = space.SearchSpace(temporal_types=("lstm", "gru", "conv", "attention"))
    hp = keras_tuner.HyperParameters()
    hp.values["temporal_type"] = family  # what the oracle chose for this trial
    families.declare(hp)
    values = space.trial_values(hp)
    assert values["model"] == model
    assert set(values) == {"model", "hidden", "chunk_length"} | own
    cfg = TrainConfig(data="d", out="o", **values)  # a valid trial config
    assert cfg.kind.takes_chunks and cfg.order_aware
    with pytest.raises(ValueError, match="--temporal-types: unknown"):
        space.SearchSpace(temporal_types=("lstm", "transformer"))

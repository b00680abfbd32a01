"""Multi-worker training: TF_CONFIG, sharding, and two real worker processes on 127.0.0.1."""

import csv
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import free_ports, loopback_tf_config

from trainer import data, distribute, reading
from trainer.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "helpers" / "mw_train.py"
FLAGS = ["--model", "recurrent", "--encoder", "small_cnn", "--chunk-length", "4", "--hidden", "8",
         "--batch-size", "4", "--epochs", "3", "--augment", "none",
         "--head-units", "16", "16"]


# --------------------------------------------------------------------------- TF_CONFIG


def test_cluster_roles_follow_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.cluster() is None
    assert (distribute.worker_count(), distribute.worker_index(), distribute.is_chief()) == (1, 0,
                                                                                              True)
    spec = {"chief": ["a:1"], "worker": ["b:1", "c:1"]}  # Vertex AI's layout
    for task, index in ((("chief", 0), 0), (("worker", 0), 1), (("worker", 1), 2)):
        monkeypatch.setenv("TF_CONFIG", json.dumps(
            {"cluster": spec, "task": {"type": task[0], "index": task[1]}}))
        assert distribute.worker_count() == 3
        assert distribute.worker_index() == index
        assert distribute.is_chief() == (index == 0)
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        distribute.cluster()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": spec,
                                                "task": {"type": "worker", "index": 5}}))
    with pytest.raises(ValueError, match="not a chief or worker of its cluster"):
        distribute.cluster()


# --------------------------------------------------------------------------- sharding


def _media_ids(cfg, manifest, split, shard):
    ds = reading.eval_records(cfg.data, manifest, split, shard=shard)
    ds = ds.map(lambda s: data._parse(cfg, s)["video_id"])
    return [v.decode() for v in ds.as_numpy_iterator()]


@pytest.mark.parametrize("workers", [2, 8])
def test_workers_read_disjoint_whole_videos_that_cover_the_split(tiny_data, workers, capsys):
    from pipeline import schema

    manifest = schema.read_manifest(tiny_data)
    cfg = TrainConfig(data=tiny_data, out="unused")
    files = len(reading.match_files(tiny_data, "train"))
    policy = reading.shard_policy(files, workers)
    assert policy == ("FILE" if workers <= files else "DATA")
    everything = sorted(_media_ids(cfg, manifest, "train", None))
    parts = [_media_ids(cfg, manifest, "train", (workers, i)) for i in range(workers)]
    assert sorted(v for p in parts for v in p) == everything  # each video exactly once
    err = capsys.readouterr().err
    if policy == "DATA":
        assert f"{files} shard file(s) for {workers} workers" in err
        assert f"--num-shards {workers}" in err
    else:
        assert "sharding by record" not in err


# --------------------------------------------------------------------------- two processes


def _run_workers(tiny_data, out, tmp_path, extra=(), flags=FLAGS):
    ports = free_ports(2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER")}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    procs = []
    for i in range(2):
        env_i = dict(env, TF_CONFIG=loopback_tf_config(ports, i))
        log = open(tmp_path / f"worker{i}.log", "w")
        procs.append(subprocess.Popen(
            [sys.executable, str(WORKER), tiny_data, out, str(tmp_path / f"weights{i}.npz"),
             *extra, *flags], env=env_i, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout=240))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
    logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    return codes, logs, [p.pid for p in procs]


def _event_pids(log_dir):
    # TensorFlow names event files events.out.tfevents.<time>.<host>.<pid>.<n>.v2
    return {int(Path(p).name.split(".")[-3]) for p in
            glob.glob(f"{log_dir}/**/events.out.tfevents*", recursive=True)}


@pytest.mark.slow
def test_two_workers_resume_and_end_identical_and_only_the_chief_writes(tiny_data, tmp_path):
    out = str(tmp_path / "runs" / "mw")
    log_dir = tmp_path / "runs" / "tensorboard" / "mw"

    # 1. both workers die at the end of epoch 1 of 3 (after the chief's backup)
    codes, logs, pids1 = _run_workers(tiny_data, out, tmp_path, ["--crash-after-epoch", "1"])
    assert codes == [3, 3], logs
    assert "worker 0 of 2" in logs[0] and "worker 1 of 2" in logs[1]
    assert (Path(out) / "backup").is_dir()

    # 2. started again, both resume at epoch 2 from the chief's backup and finish
    codes, logs, pids2 = _run_workers(tiny_data, out, tmp_path)
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    assert "Epoch 1/3" not in logs[0] and "Epoch 2/3" in logs[0] and "Epoch 3/3" in logs[0]
    a, b = np.load(tmp_path / "weights0.npz"), np.load(tmp_path / "weights1.npz")
    assert len(a.files) > 10  # kernels, biases and BatchNorm statistics
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key], err_msg=f"weight {key} differs")

    # only the chief (worker 0) wrote: the non-chief refuses writes under runs/ (see
    # tests/helpers/mw_train.py) and every event file carries a chief's pid
    assert "PermissionError" not in logs[1]
    assert _event_pids(log_dir) and _event_pids(log_dir) <= {pids1[0], pids2[0]}
    with open(Path(out) / "history.csv") as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [0, 1, 2]
    summary = json.loads((Path(out) / "train_summary.json").read_text())
    assert summary["num_workers"] == 2 and summary["num_replicas"] == 2
    assert not (Path(out) / "backup").exists()  # finished: the backup is gone

    # the chief's model is a normal run: it evaluates like any other
    from trainer import evaluate

    result = evaluate.evaluate_run(out, split="test")
    assert result["num_videos"] > 0 and 0.0 <= result["video_top1"] <= 1.0


@pytest.mark.slow
def test_two_workers_train_an_attention_model_on_differences_identically_on_every_rerun(
        tiny_data, tmp_path):
    """The order-aware non-recurrent models use the same multi-worker loop; the same cluster
    command twice gives the same weights and test predictions."""
    from trainer import evaluate

    flags = [*FLAGS[2:], "--model", "attention", "--temporal-input", "diff", "--epochs", "1"]
    weights, videos = [], []
    for k in range(2):
        out, logs_dir = str(tmp_path / f"runs{k}" / "attn"), tmp_path / f"logs{k}"
        logs_dir.mkdir()
        codes, logs, _ = _run_workers(tiny_data, out, logs_dir, flags=flags)
        assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
        a, b = np.load(logs_dir / "weights0.npz"), np.load(logs_dir / "weights1.npz")
        assert len(a.files) > 10  # encoder, attention block, head
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"weight {key} differs")
        weights.append(a)
        summary = json.loads((Path(out) / "train_summary.json").read_text())
        assert summary["recipe"]["kind"] == {"takes_chunks": True, "order_aware": True,
                                             "recurrent": False, "spatial": False}
        videos.append(json.dumps(evaluate.evaluate_run(out, split="test")["videos"]))
    for key in weights[0].files:
        np.testing.assert_array_equal(weights[0][key], weights[1][key],
                                      err_msg=f"weight {key} differs between reruns")
    assert videos[0] == videos[1]


@pytest.mark.slow
@pytest.mark.parametrize("model,extra", [("convlstm", ["--frame-input", "both"]),
                                         ("conv2plus1d", ["--feature-layer", "block2_pool"])])
def test_two_workers_train_the_spatial_models_in_step(tiny_data, tmp_path, model, extra):
    """The spatial models (feature maps, pixel differences) in the multi-worker loop: both
    workers end with the same weights, and the run evaluates."""
    from trainer import evaluate

    out, logs_dir = str(tmp_path / "runs" / model), tmp_path / "logs"
    logs_dir.mkdir()
    codes, logs, _ = _run_workers(tiny_data, out, logs_dir,
                                  flags=[*FLAGS[2:], "--model", model, *extra, "--epochs", "1"])
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    a, b = np.load(logs_dir / "weights0.npz"), np.load(logs_dir / "weights1.npz")
    assert len(a.files) > 10  # encoder, spatial temporal part, head
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key], err_msg=f"weight {key} differs")
    summary = json.loads((Path(out) / "train_summary.json").read_text())
    assert summary["recipe"]["kind"]["spatial"] is True
    assert evaluate.evaluate_run(out, split="test")["num_videos"] > 0

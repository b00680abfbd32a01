"""Shared fixtures: seeds, quiet TensorFlow, tiny synthetic datasets."""

import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def opencv_frame_count(path: str) -> int:
    """Frames of a video as a bare OpenCV loop decodes them: the oracle the pipeline must match."""
    import cv2

    capture = cv2.VideoCapture(path)
    n = 0
    while capture.read()[0]:
        n += 1
    capture.release()
    return n


@pytest.fixture(autouse=True)
def _seeds():
    random.seed(0)
    np.random.seed(0)


# --------------------------------------------------------------------------- trainer fixtures

def pytest_configure(config):
    """Two logical CPU devices for MirroredStrategy tests, set before TF initialises.

    Harmless for other tests: ops still run on /cpu:0 unless a strategy asks for more.
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or []) < 2:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        except RuntimeError:  # already initialised by a plugin: tests needing 2 will say so
            pass


def write_dataset(out, videos_by_split, classes, frame_size, compression="none",
                  shards_per_split=2):
    """Writes shards + manifest.json with the schema writer (no Beam).

    `videos_by_split`: {split: [(media_id, label_index, frames uint8 [T, S, S, 3])]}.
    """
    import cv2

    from pipeline import schema

    out = str(out)
    os.makedirs(out, exist_ok=True)
    splits = {}
    suffix = schema.SHARD_SUFFIX + (schema.GZIP_SUFFIX if compression == "gzip" else "")
    options = "GZIP" if compression == "gzip" else None
    import tensorflow as tf

    for split, videos in videos_by_split.items():
        n = max(1, min(shards_per_split, len(videos)))
        writers = [tf.io.TFRecordWriter(f"{out}/{split}-{k:05d}-of-{n:05d}{suffix}",
                                        options=options) for k in range(n)]
        per_class = {c: 0 for c in classes}
        lengths = []
        for i, (media_id, label, frames) in enumerate(videos):
            jpegs = [cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR))[1].tobytes()
                     for f in frames]
            writers[i % n].write(schema.encode_video(
                jpegs, label=label, label_text=classes[label], media_id=media_id,
                source_path=f"/src/{media_id}.avi", fps=10.0, height=frame_size,
                width=frame_size))
            per_class[classes[label]] += 1
            lengths.append(len(frames))
        for w in writers:
            w.close()
        splits[split] = {"videos": len(videos), "per_class": per_class, "shards": n,
                         "frames": int(sum(lengths)), "min_frames": min(lengths, default=0),
                         "max_frames": max(lengths, default=0),
                         "file_pattern": f"{split}-*-of-{n:05d}{suffix}"}
    manifest = {"schema_version": schema.SCHEMA_VERSION, "classes": list(classes),
                "splits": splits, "frame_size": frame_size, "resize_mode": "crop",
                "compression": compression}
    schema.write_json(f"{out}/{schema.MANIFEST_NAME}", manifest)
    return manifest


def free_ports(n):
    """`n` TCP ports free on 127.0.0.1 right now (for loopback clusters)."""
    import socket

    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def loopback_tf_config(ports, index):
    """TF_CONFIG of worker `index` of a cluster of workers on 127.0.0.1:`ports`."""
    import json

    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


HMDB_LAYOUT_CLASSES = ("grow", "shrink", "square")


@pytest.fixture(scope="module")
def hmdb_layout(tmp_path_factory):
    """Raw synthetic videos and split files in the HMDB51 layout, before conversion:
    `HMDB_LAYOUT_CLASSES`, 6 clips of 8 frames at 32x32 each, 2 clips a film."""
    from pipeline import synth

    root = str(tmp_path_factory.mktemp("synth"))
    synth.generate(synth.SynthConfig(root, clips_per_class=6, frames=8, size=32,
                                     clips_per_film=2, classes=HMDB_LAYOUT_CLASSES))
    return root


def synth_dataset(root, classes, clips_per_class, frames, size):
    """synth videos -> the real Beam conversion (`vidrec convert`); returns the data dir."""
    from pipeline import convert, synth

    synth.generate(synth.SynthConfig(out=f"{root}/raw", classes=classes,
                                     clips_per_class=clips_per_class, frames=frames, size=size))
    out = f"{root}/data"
    code = convert.main(["--videos", f"{root}/raw/videos", "--splits", f"{root}/raw/splits",
                               "--split", "1", "--output", out, "--frame-size", str(size)])
    assert code == 0, f"vidrec convert failed with exit code {code}"
    return out


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """4 synthetic classes (grow, shrink, square, cross), 12 frames of 32x32 per video."""
    root = tmp_path_factory.mktemp("tiny_data")
    return synth_dataset(str(root), ("grow", "shrink", "square", "cross"), 8, 12, 32)


# A small recipe that trains in seconds on `tiny_data`.
SMALL = dict(hidden=8, head_units=(16, 8), chunk_length=4, batch_size=4,
             epochs=1, steps_per_epoch=2, augment="none")


@pytest.fixture(scope="module")
def frame_run(tiny_data, tmp_path_factory):
    """A frame model trained on `tiny_data` with `SMALL`, one per test module (tests
    write evaluation files into it)."""
    from trainer import train
    from trainer.config import TrainConfig

    out = str(tmp_path_factory.mktemp("frame_run") / "frame")
    train.train(TrainConfig(data=tiny_data, out=out, model="frame", **SMALL))
    return out

"""The input pipeline on hand-made shards whose frame i is a flat grey 20*i+10."""

import os
import shutil

import numpy as np
import pytest
from conftest import write_dataset

from pipeline import schema
from trainer import data, reading, sampling
from trainer.config import EvalProtocol, TrainConfig

SIZE = 16
CLASSES = ("a", "b")


def _video(num_frames):
    return np.stack([np.full((SIZE, SIZE, 3), 20 * i + 10, np.uint8) for i in range(num_frames)])


def _frame_index(frames):
    """Recovers frame indices from flat grey frames `[..., H, W, 3]` -> `[...]`."""
    return np.rint((np.asarray(frames).mean(axis=(-3, -2, -1)) - 10) / 20).astype(int)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """train: 6 videos of 12 frames; val: 3 videos (12, 5, 9 frames); test: 1 video."""
    root = str(tmp_path_factory.mktemp("graded"))
    manifest = write_dataset(root, {
        "train": [(f"a/t{i}", i % 2, _video(12)) for i in range(6)],
        "val": [("a/v12", 0, _video(12)), ("b/v05", 1, _video(5)), ("a/v09", 0, _video(9))],
        "test": [("b/x", 1, _video(12))],
    }, CLASSES, SIZE)
    return root, manifest


def _cfg(root, **kw):
    kw.setdefault("augment", "none")
    return TrainConfig(data=root, out="/tmp/unused", **kw)


def test_train_chunks_are_sampled_then_decoded(graded):
    root, manifest = graded
    cfg = _cfg(root, model="recurrent", chunk_length=4, frame_stride=2)
    x, y = next(iter(data.train_dataset(cfg, manifest, global_batch=4)))
    # uint8 to the model, which casts (a quarter of float32's bytes batched and copied)
    assert x.shape == (4, 4, SIZE, SIZE, 3) and x.dtype.name == "uint8"
    assert y.shape == (4,)
    idx = _frame_index(x.numpy())
    np.testing.assert_array_equal(np.diff(idx, axis=1), 2)  # consecutive, stride 2
    assert idx.min() >= 0 and idx.max() <= 11


def test_training_input_runs_on_a_private_pool_of_three_threads_per_core(graded):
    """On tf.data's shared pool the augmentation left the cores ~10% idle
    (benchmarks/bench_input.py); the training input gets a private pool."""
    root, manifest = graded
    ds = data.train_dataset(_cfg(root, model="recurrent", chunk_length=4), manifest, 4)
    cores = len(os.sched_getaffinity(0))
    assert ds.options().threading.private_threadpool_size == 3 * cores


def test_frame_model_trains_on_single_frames(graded):
    root, manifest = graded
    cfg = _cfg(root, model="frame", frames_per_video=3)
    x, y = next(iter(data.train_dataset(cfg, manifest, global_batch=5)))
    assert x.shape == (5, SIZE, SIZE, 3) and y.shape == (5,)


def test_short_videos_are_looped():
    cfg = _cfg("/unused", model="recurrent", chunk_length=8)
    idx = sampling.eval_clip_indices(np.int32(5), cfg).numpy()
    np.testing.assert_array_equal(idx, [[0, 1, 2, 3, 4, 0, 1, 2]])
    seed = np.array([1, 2], np.int64)
    train_idx = sampling.train_chunk_indices(np.int32(5), cfg, seed).numpy()
    np.testing.assert_array_equal(train_idx, [0, 1, 2, 3, 4, 0, 1, 2])


def test_dense_evaluation_tiles_every_frame_whatever_the_chunk():
    def clips(model, **kw):
        return sampling.eval_clip_indices(np.int32(10), _cfg("/u", model=model, **kw)).numpy()

    np.testing.assert_array_equal(clips("frame", chunk_length=8), np.arange(10)[:, None])
    np.testing.assert_array_equal(clips("recurrent", chunk_length=4),
                                  [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1]])  # last looped
    # Stride 3: one run of chunks per phase, frames exactly 3 apart as in training.
    np.testing.assert_array_equal(clips("pooled", chunk_length=2, frame_stride=3),
                                  [[0, 3], [6, 9], [1, 4], [7, 1], [2, 5], [8, 2]])
    for kw in ({"chunk_length": 4}, {"chunk_length": 3, "frame_stride": 2},
               {"chunk_length": 12}, {"chunk_length": 1}):
        assert set(clips("recurrent", **kw).ravel()) == set(range(10)), kw
    centre = sampling.eval_clip_indices(np.int32(10), _cfg("/u", model="frame"),
                                    EvalProtocol(window=4)).numpy()
    np.testing.assert_array_equal(centre.ravel(), [3, 4, 5, 6])
    short = sampling.eval_clip_indices(np.int32(3), _cfg("/u", model="frame"), EvalProtocol(8))
    np.testing.assert_array_equal(short.numpy().ravel(), [0, 1, 2])


def test_eval_protocol_parsing():
    assert EvalProtocol.parse("all") == EvalProtocol() and EvalProtocol().name == "dense"
    assert EvalProtocol.parse("32").name == "dense-center-32"
    for bad in ("0", "-3", "some"):
        with pytest.raises(ValueError, match="--frames must be 'all' or a positive number"):
            EvalProtocol.parse(bad)


def test_eval_sees_every_video_exactly_once(graded):
    root, manifest = graded
    cfg = _cfg(root, model="recurrent", chunk_length=8)
    ids, labels, chunks, frames = [], [], [], {}
    for batch in data.eval_examples(cfg, manifest, "val", batch=4):  # 2 + 1 + 2 clips
        ids += [v.decode() for v in batch["video_id"].numpy()]
        labels += batch["label"].numpy().tolist()
        chunks.append(batch["inputs"].numpy())
        for v, f in zip(batch["video_id"].numpy(), batch["frames"].numpy()):
            frames.setdefault(v.decode(), set()).add(f.decode())
    assert sorted(ids) == sorted(["a/v12", "a/v12", "b/v05", "a/v09", "a/v09"])
    assert dict(zip(ids, labels)) == {"a/v12": 0, "b/v05": 1, "a/v09": 0}
    assert frames == {"a/v12": {",".join(map(str, range(12)))}, "b/v05": {"0,1,2,3,4"},
                      "a/v09": {",".join(map(str, range(9)))}}
    idx = _frame_index(np.concatenate(chunks))
    looped = idx[[i for i, v in enumerate(ids) if v == "b/v05"]]
    np.testing.assert_array_equal(looped, [[0, 1, 2, 3, 4, 0, 1, 2]])
    val = list(data.val_examples(cfg, manifest, batch=4))
    assert sum(len(b["label"]) for b in val) == 5 and val[0]["inputs"].dtype.name == "float32"


def test_frame_and_chunk_models_are_scored_on_the_same_frames(graded):
    """The fairness contract: every model sees every frame, whatever its chunk length."""
    root, manifest = graded

    def scored(**kw):
        batches = list(data.eval_examples(_cfg(root, **kw), manifest, "val", batch=64))
        ids = [v.decode() for b in batches for v in b["video_id"].numpy()]
        idx = _frame_index(np.concatenate([b["inputs"].numpy() for b in batches]))
        seen = {}
        for vid, clip in zip(ids, idx.reshape(len(ids), -1)):
            seen.setdefault(vid, set()).update(clip.tolist())
        keys = {v.decode(): f.decode() for b in batches
                for v, f in zip(b["video_id"].numpy(), b["frames"].numpy())}
        return seen, keys

    frame = scored(model="frame", chunk_length=8)
    assert frame[0] == {"a/v12": set(range(12)), "b/v05": set(range(5)),
                        "a/v09": set(range(9))}
    for kw in ({"model": "recurrent", "chunk_length": 8},
               {"model": "recurrent", "chunk_length": 4},
               {"model": "pooled", "chunk_length": 3, "frame_stride": 2}):
        assert scored(**kw) == frame, kw


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_order_permutes_each_chunk(graded, order):
    root, manifest = graded
    cfg = _cfg(root, model="recurrent", chunk_length=4)

    def indices(o):
        batch = next(iter(data.eval_examples(cfg, manifest, "test", batch=8, order=o)))
        return _frame_index(batch["inputs"].numpy())

    natural, permuted = indices("natural"), indices(order)
    assert not np.array_equal(natural, permuted)
    np.testing.assert_array_equal(np.sort(natural, axis=1), np.sort(permuted, axis=1))
    if order == "reversed":
        np.testing.assert_array_equal(permuted, natural[:, ::-1])
    np.testing.assert_array_equal(permuted, indices(order))  # fixed seed: repeatable


def test_gzip_shards_are_read(tmp_path):
    manifest = write_dataset(tmp_path, {"train": [("a/1", 0, _video(6))] * 2,
                                        "val": [("a/2", 0, _video(6))]},
                             CLASSES, SIZE, compression="gzip")
    cfg = _cfg(str(tmp_path), model="pooled", chunk_length=3)
    batch = next(iter(data.eval_examples(cfg, manifest, "val", batch=8)))
    assert batch["inputs"].shape == (2, 3, SIZE, SIZE, 3)  # 6 frames, chunks of 3


def test_features_mode_yields_embedding_chunks(tmp_path):
    emb = np.arange(7 * 5, dtype=np.float32).reshape(7, 5)
    path = f"{tmp_path}/val-00000-of-00001{schema.SHARD_SUFFIX}"
    import tensorflow as tf

    with tf.io.TFRecordWriter(path) as w:
        w.write(schema.encode_embeddings(emb, label=1, label_text="b", media_id="b/1",
                                         source_path="", fps=10, height=SIZE, width=SIZE))
    manifest = {"classes": list(CLASSES), "frame_size": SIZE, "compression": "none",
                "splits": {"val": {"videos": 1, "max_frames": 7, "shards": 1,
                                   "file_pattern": f"val-*-of-*{schema.SHARD_SUFFIX}"}},
                "features": {"dim": 5, "dtype": "float16"}}
    cfg = TrainConfig(data="/unused", out="/u", model="pooled", features=str(tmp_path),
                      chunk_length=3)
    batch = next(iter(data.eval_examples(cfg, manifest, "val", batch=8)))
    np.testing.assert_array_equal(batch["inputs"].numpy(),
                                  [emb[0:3], emb[3:6], emb[[6, 0, 1]]])  # 7 frames, last looped
    frame_cfg = TrainConfig(data="/unused", out="/u", model="frame", features=str(tmp_path))
    batch = next(iter(data.eval_examples(frame_cfg, manifest, "val", batch=8)))
    np.testing.assert_array_equal(batch["inputs"].numpy(), emb)  # one embedding per clip


def test_readers_read_only_the_shards_the_manifest_lists(tmp_path):
    manifest = write_dataset(tmp_path, {"train": [(f"a/{i}", 0, np.zeros((2, 8, 8, 3), np.uint8))
                                                  for i in range(3)]}, ["a"], 8)
    listed = reading.match_files(str(tmp_path), "train", manifest)
    assert [os.path.basename(f) for f in listed] == ["train-00000-of-00002.tfrecord",
                                                     "train-00001-of-00002.tfrecord"]
    # A leftover of an earlier write into the folder matches the old glob; it is not read.
    shutil.copy(listed[0], tmp_path / "train-00000-of-00003.tfrecord")
    assert reading.match_files(str(tmp_path), "train") == listed
    new_style = {"splits": {"train": {"shards": 2, "file_pattern": "train-*-of-*.tfrecord.gz"}}}
    assert schema.shard_names(new_style, "train") == ["train-00000-of-00002.tfrecord.gz",
                                                    "train-00001-of-00002.tfrecord.gz"]
    os.remove(listed[1])
    with pytest.raises(FileNotFoundError, match=r"1 of the 2 'train' shards .*-00001-of-00002"):
        reading.match_files(str(tmp_path), "train")


def test_chunk_longer_than_longest_video_is_rejected(graded):
    root, manifest = graded
    cfg = _cfg(root, model="recurrent", chunk_length=7, frame_stride=2)
    with pytest.raises(ValueError, match=r"= 13 frames exceeds the longest video .*12 frames"):
        data.validate(cfg, manifest)
    assert data.max_chunk_length(manifest, 2) == 6  # span (6-1)*2+1 = 11 <= 12
    assert data.max_chunk_length(manifest, 1) == 12
    with pytest.raises(ValueError, match="global batch 3 .* 2 replicas"):
        data.validate(_cfg(root), manifest, global_batch=3, num_replicas=2)

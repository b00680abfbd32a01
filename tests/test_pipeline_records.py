"""`pipeline.records`: SequenceExamples and TFRecord framing, byte for byte as TensorFlow."""

import io

import numpy as np
import tensorflow as tf

from pipeline import records, schema


def _tf_feature(value):
    if isinstance(value, int):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
    if isinstance(value, float):
        return tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _tf_serialised(context, lists):
    return tf.train.SequenceExample(
        context=tf.train.Features(feature={k: _tf_feature(v) for k, v in context.items()}),
        feature_lists=tf.train.FeatureLists(feature_list={
            k: tf.train.FeatureList(feature=[_tf_feature(v) for v in steps])
            for k, steps in lists.items()}),
    ).SerializeToString(deterministic=True)


def test_sequence_examples_are_tensorflows_bytes():
    rng = np.random.default_rng(0)
    frames = [rng.bytes(int(n)) for n in rng.integers(0, 300, 40)]  # incl. empty, > 127 bytes
    context = {"z/last": 7, "a/first": b"x" * 200, "neg": -3, "big": 2 ** 40, "zero": 0,
               "fps": 29.97, "nan": float("nan"), "text": "čaj".encode()}
    assert records.sequence_example(context, {"image/encoded": frames}) == _tf_serialised(
        context, {"image/encoded": frames})


def test_schema_records_parse_back_through_tfrecord_files(tmp_path):
    video = schema.encode_video(
        [b"\xff\xd8one", b"\xff\xd8two"], label=2, label_text="chew", media_id="chew/a.avi",
        source_path="gs://b/chew/a.avi", fps=30.0, height=8, width=8, decoded_frames=3,
        covered_seconds=0.1)
    emb = schema.encode_embeddings(np.arange(6, dtype=np.float32).reshape(3, 2), label=1,
                                   label_text="x", media_id="x/b.avi", source_path="", fps=0.0,
                                   height=8, width=8)
    buf = io.BytesIO()
    assert records.write(buf, video) == len(video) + 16
    records.write(buf, emb)
    path = tmp_path / "r.tfrecord"
    path.write_bytes(buf.getvalue())
    read = [r.numpy() for r in tf.data.TFRecordDataset(str(path))]  # checks every CRC
    assert read == [video, emb]
    ctx, jpegs = schema.parse_video(tf.constant(video))
    assert [j for j in jpegs.numpy()] == [b"\xff\xd8one", b"\xff\xd8two"]
    assert ctx[schema.MEDIA_ID_KEY].numpy() == b"chew/a.avi"
    assert int(ctx[schema.DECODED_FRAMES_KEY]) == 3 and int(ctx[schema.LABEL_INDEX_KEY]) == 2
    _, rows = schema.parse_embeddings(tf.constant(emb))
    np.testing.assert_array_equal(rows.numpy(), np.arange(6).reshape(3, 2))

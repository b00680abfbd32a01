"""The real-footage known answer: from scratch, motion direction on real photographs.

`vidrec camera` films the photographs of Debian's opencv-doc and python3-skimage (`make
footage`) in four
classes that only the motion's direction separates (pan left/right, zoom in/out). A model
that sees one frame, or the mean of a chunk's embeddings, can tell a pan from a zoom but
not its direction (ceiling 0.5); the spatial recurrent model and the late-fusion model fed
pixel differences, both trained from scratch, must clear it by a margin, and lose it when
their frames are shuffled. Smaller than studies/camera.toml (docs/motion.md has those
figures): fewer clips and epochs, so the margins asked here are smaller.
"""

import pytest

from pipeline import camera, footage

pytestmark = pytest.mark.slow

# The recipe of studies/camera.toml, shortened (no early stop: the test has no time for it).
RECIPE = dict(encoder="small_cnn", weights="none", augment="none", chunk_length=8,
              hidden=32, head_units=(64, 32), batch_size=8, epochs=16, patience=16,
              learning_rate=2e-3)
RUNS = {"pooled": dict(model="pooled"),
        "convlstm": dict(model="convlstm", feature_layer="block2_pool"),
        "recurrent_diff": dict(model="recurrent", frame_input="both")}


@pytest.fixture(scope="module")
def real_data(tmp_path_factory):
    if not footage.ready():
        pytest.skip("no real footage: `make footage` could not cache the photographs of "
                    f"Debian's opencv-doc and python3-skimage in {footage.folder()}")
    from pipeline import convert

    root = tmp_path_factory.mktemp("camera")
    camera.generate(camera.CameraConfig(out=f"{root}/raw", images=footage.folder(),
                                        clips_per_film=2, size=32))
    out = f"{root}/data"
    assert convert.main(["--videos", f"{root}/raw/videos", "--splits", f"{root}/raw/splits",
                         "--split", "1", "--output", out, "--frame-size", "32"]) == 0
    return out, f"{root}/raw"


@pytest.fixture(scope="module")
def scores(real_data, tmp_path_factory):
    """{run: (natural, shuffled) test video top-1}, each trained from scratch."""
    from trainer import evaluate, train
    from trainer.config import TrainConfig

    out = tmp_path_factory.mktemp("runs")
    result = {}
    for name, flags in RUNS.items():
        cfg = TrainConfig(data=real_data[0], out=str(out / name), **RECIPE, **flags)
        train.train(cfg)
        result[name] = tuple(evaluate.evaluate_run(cfg.out, split="test", order=order)
                             ["video_top1"] for order in ("natural", "shuffled"))
    return result


def test_spatial_and_difference_models_see_motion_direction_that_pooling_cannot(scores):
    print("real footage, test video top-1 (natural, shuffled):", scores)
    pooled = scores["pooled"][0]
    assert pooled <= 0.5 + 0.1, scores  # one frame tells pan from zoom, not the direction
    for name in ("convlstm", "recurrent_diff"):
        natural, shuffled = scores[name]
        assert natural >= pooled + 0.15, (name, scores)
        assert natural - shuffled >= 0.1, (name, scores)  # they read the frames' order


def test_the_camera_dataset_is_in_the_hmdb51_layout_with_whole_films(real_data):
    import collections
    import os

    raw = real_data[1]
    assert sorted(os.listdir(f"{raw}/videos")) == sorted(camera.DEFAULT_CLASSES)
    for split in (1, 2, 3):
        ids = collections.defaultdict(set)  # film -> ids, over every class
        for name in camera.DEFAULT_CLASSES:
            with open(f"{raw}/splits/{name}_test_split{split}.txt") as f:
                for line in f:
                    clip, i = line.split()
                    ids[clip.split(f"_{name}_")[0]].add(int(i))
        assert len(ids) == len(footage.PHOTOGRAPHS)  # one film per photograph
        assert all(len(v) == 1 for v in ids.values())  # a film is train or test, whole
        assert {i for v in ids.values() for i in v} == {1, 2}

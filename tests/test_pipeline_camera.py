"""`vidrec camera`: real photographs filmed by a virtual camera, in the HMDB51 layout."""

import os

import cv2
import numpy as np
import pytest

from pipeline import camera
from vidrec import cli


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Four textured pictures the test writes (the real photographs are `make footage`'s)."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for k in range(4):
        small = rng.uniform(0, 255, (12, 16, 3)).astype(np.uint8)
        cv2.imwrite(str(root / f"photo_{k}.png"), cv2.resize(small, (160, 120)))
    return str(root)


def _clip(images, name, seed=0):
    cfg = camera.CameraConfig(out="", images=images, classes=camera.ALL_CLASSES, size=32)
    photo = camera.load_photo(os.path.join(images, "photo_0.png"), 4 * cfg.size)
    return camera.render_clip(photo, name, cfg, np.random.default_rng(seed)).astype(float)


@pytest.mark.parametrize("a,b", camera.PAIRS)
def test_a_pairs_classes_play_the_same_frames_in_opposite_orders(images, a, b):
    """So no single frame can tell a pair's classes apart: only the order does."""
    np.testing.assert_array_equal(_clip(images, a), _clip(images, b)[::-1])
    assert np.abs(np.diff(_clip(images, a), axis=0)).mean() > 1.0  # the camera moves


def test_one_frame_tells_a_pan_from_a_zoom_by_the_table_around_the_photograph(images):
    table = np.array(camera.TABLE, float)
    pan, zoom = _clip(images, "pan_left"), _clip(images, "zoom_in")
    assert not np.all(pan[:, 0, 0] == table, axis=-1).any()
    assert np.all(zoom[:, 0, 0] == table, axis=-1).all()


def test_the_dataset_is_in_the_hmdb51_layout_one_film_per_photograph(images, tmp_path):
    out = str(tmp_path / "cam")
    assert cli.main(["camera", out, "--images", images, "--clips-per-film", "2",
                     "--frames", "6", "--size", "24"]) == 0
    for name in camera.DEFAULT_CLASSES:
        clips = sorted(os.listdir(f"{out}/videos/{name}"))
        assert len(clips) == 8 and clips[0] == f"photo-0_{name}_u_cm_np1_fr_med_0.avi"
        capture = cv2.VideoCapture(f"{out}/videos/{name}/{clips[0]}")
        frames = 0
        while capture.read()[0]:
            frames += 1
        assert frames == 6
    for split in (1, 2, 3):
        ids = {}
        for name in camera.DEFAULT_CLASSES:
            for line in open(f"{out}/splits/{name}_test_split{split}.txt"):
                clip, i = line.split()
                ids.setdefault(clip.split(f"_{name}_")[0], set()).add(i)
        assert sorted(ids) == [f"photo-{k}" for k in range(4)]
        assert all(len(v) == 1 for v in ids.values()) and {"1", "2"} == set().union(*ids.values())


@pytest.mark.parametrize("argv,message", [
    (["--images", "/nope"], "--images '/nope' is not a folder (run `make footage`"),
    (["--classes", "pan_left,jump"], "--classes: unknown ['jump']; choose from pan_left"),
    (["--size", "8"], "--size must be >= 16, got 8"),
])
def test_bad_input_is_one_line_and_exit_2(images, tmp_path, capsys, argv, message):
    argv = argv if argv[0] == "--images" else ["--images", images, *argv]
    assert cli.main(["camera", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vidrec camera: error: ") and message in err and "\n" not in err
    assert not (tmp_path / "o").exists()

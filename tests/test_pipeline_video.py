"""`pipeline.video.decode` (frame counts, resampling, colour order, per-video failures)
and `pipeline.resizing` (crop, squash, the fast filter against INTER_AREA)."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import opencv_frame_count

from pipeline import resizing, video


def _noise_clip(frames: int, h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (frames, h, w, 3), dtype=np.uint8)


@pytest.fixture
def clip(tmp_path):
    path = str(tmp_path / "clip.avi")
    video.write_video(path, _noise_clip(12), fps=10.0)
    return path


def _rgb(jpeg: bytes) -> np.ndarray:
    return tf.io.decode_jpeg(jpeg, channels=3).numpy()


def test_frame_count_is_what_opencv_decodes(clip):
    decoded = video.decode(clip, video.DecodeOptions(frame_size=16, min_frames=1))
    assert len(decoded.jpegs) == decoded.decoded_frames == opencv_frame_count(clip) == 12
    assert decoded.fps == pytest.approx(10.0) and decoded.native_fps == pytest.approx(10.0)
    assert _rgb(decoded.jpegs[0]).shape == (16, 16, 3)


def test_fps_resampling_halves_the_frames(clip):
    decoded = video.decode(clip, video.DecodeOptions(frame_size=16, fps=5.0, min_frames=1))
    assert len(decoded.jpegs) == 6 and decoded.decoded_frames == 12
    assert decoded.fps == pytest.approx(5.0)
    faster = video.decode(clip, video.DecodeOptions(frame_size=16, fps=30.0, min_frames=1))
    assert len(faster.jpegs) == 12 and faster.fps == pytest.approx(10.0)  # never upsampled


def test_max_frames_keeps_the_first_frames(clip):
    full = video.decode(clip, video.DecodeOptions(frame_size=16, min_frames=1))
    cut = video.decode(clip, video.DecodeOptions(frame_size=16, max_frames=5, min_frames=1))
    assert cut.jpegs == full.jpegs[:5]


def test_red_stays_red_and_blue_stays_blue(tmp_path):
    frames = np.zeros((4, 32, 32, 3), np.uint8)
    frames[:2, ..., 0] = 255  # red
    frames[2:, ..., 2] = 255  # blue
    path = str(tmp_path / "rb.avi")
    video.write_video(path, frames, fps=10.0)
    decoded = video.decode(path, video.DecodeOptions(frame_size=16, min_frames=1))
    red, blue = _rgb(decoded.jpegs[0]).mean((0, 1)), _rgb(decoded.jpegs[-1]).mean((0, 1))
    assert red[0] > 200 and red[1] < 40 and red[2] < 40
    assert blue[2] > 200 and blue[0] < 40 and blue[1] < 40


@pytest.mark.parametrize("mode", resizing.RESIZE_MODES)
def test_resize_modes_give_square_frames(mode):
    frame = np.zeros((30, 60, 3), np.uint8)
    frame[:, :15] = 255  # the left quarter: cut away by crop, kept by squash
    out = resizing.resize(frame, 20, mode)
    assert out.shape == (20, 20, 3)
    assert (out[:, 0].mean() > 200) == (mode == "squash")


def _write_bad(tmp_path, kind: str, clip_path: str) -> str:
    path = tmp_path / f"{kind}.avi"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(np.random.default_rng(1).bytes(5000))
    elif kind == "truncated":
        long = str(tmp_path / "long.avi")
        video.write_video(long, _noise_clip(40, seed=3), fps=10.0)
        data = open(long, "rb").read()
        path.write_bytes(data[:len(data) // 2])
    return str(path)


@pytest.mark.parametrize("kind,reason", [
    ("empty", "empty file"),
    ("random", "OpenCV cannot open it"),
    ("truncated", "truncated or corrupt"),
    ("missing", "file does not exist"),
])
def test_bad_videos_raise_video_error_with_reason(tmp_path, clip, kind, reason):
    path = _write_bad(tmp_path, kind, clip)
    with pytest.raises(video.VideoError) as info:
        video.decode(path, video.DecodeOptions(frame_size=16, min_frames=1))
    assert info.value.reason.startswith(reason)


def test_too_short_video_fails_with_min_frames(clip):
    with pytest.raises(video.VideoError, match="too short: 12 frames < --min-frames 13"):
        video.decode(clip, video.DecodeOptions(frame_size=16, min_frames=13))


# --------------------------------------------------------------------------- resize quality


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / mse)


@pytest.mark.parametrize("h,w", [(240, 320), (480, 640), (144, 176), (360, 480)])
def test_fast_resize_is_within_38_db_of_inter_area_on_textured_frames(h, w):
    import cv2

    from pipeline import synth

    frames = synth.textured_clip(4, h, w, seed=h)
    for frame in frames:
        square = resizing.centre_square(frame)
        area = cv2.resize(square, (128, 128), interpolation=cv2.INTER_AREA)
        fast = resizing.resize(frame, 128, "crop")
        assert fast.shape == area.shape == (128, 128, 3)
        assert _psnr(fast, area) >= 38.0
    assert np.array_equal(resizing.resize(frames[0], 128, "crop", "area"),
                          cv2.resize(resizing.centre_square(frames[0]), (128, 128),
                                     interpolation=cv2.INTER_AREA))


@pytest.mark.parametrize("side", [240, 480])
def test_fast_resize_does_not_alias_fine_stripes(side):
    import cv2

    y, x = np.mgrid[0:side, 0:side].astype(np.float32)
    period = 2.2 * side / 240  # above the output's Nyquist rate: should mostly vanish
    stripes = (127.5 + 127.5 * np.sin(2 * np.pi * (x + 0.3 * y) / period)).astype(np.uint8)
    frame = np.stack([stripes] * 3, axis=-1)
    area = cv2.resize(frame, (128, 128), interpolation=cv2.INTER_AREA)
    linear = cv2.resize(frame, (128, 128), interpolation=cv2.INTER_LINEAR)  # moire
    fast = resizing.resize(frame, 128, "crop")
    assert fast.std() < 0.3 * linear.std()
    assert _psnr(fast, area) > _psnr(linear, area) + 3


# --------------------------------------------------------------------------- timestamps


def _gap_clip(tmp_path, null_frames=range(5, 12)) -> tuple[str, np.ndarray]:
    """20 frames at 10 fps, frame i of brightness 10 * i; `null_frames` are left empty."""
    from helpers.avi import write_mjpg_avi

    frames = np.stack([np.full((24, 32, 3), 10 * i, np.uint8) for i in range(20)])
    path = str(tmp_path / "gaps.avi")
    write_mjpg_avi(path, frames, 10.0, null_frames=set(null_frames))
    return path, frames


def _levels(decoded) -> list[int]:
    return [int(round(_rgb(j).mean() / 10)) for j in decoded.jpegs]


def test_a_clip_with_timestamp_gaps_is_stored_as_decoded_and_not_called_truncated(tmp_path):
    path, _ = _gap_clip(tmp_path)
    decoded = video.decode(path, video.DecodeOptions(frame_size=16))
    assert _levels(decoded) == [0, 1, 2, 3, 4] + list(range(12, 20))  # what decodes
    assert decoded.decoded_frames == 13 and decoded.covered_seconds == pytest.approx(2.0)
    assert decoded.fps == pytest.approx(10.0)


def test_fps_puts_a_gappy_clip_on_a_constant_rate_grid(tmp_path):
    path, _ = _gap_clip(tmp_path)
    same = video.decode(path, video.DecodeOptions(frame_size=16, fps=10.0))
    # each grid time takes the first frame shown at or after it: the gap is filled by 12
    assert _levels(same) == [0, 1, 2, 3, 4] + [12] * 8 + list(range(13, 20))
    half = video.decode(path, video.DecodeOptions(frame_size=16, fps=5.0))
    assert _levels(half) == [0, 2, 4, 12, 12, 12, 12, 14, 16, 18]
    assert half.fps == pytest.approx(5.0) and half.decoded_frames == 13


def test_a_cut_file_is_truncated_by_the_time_it_covers(tmp_path):
    path, _ = _gap_clip(tmp_path, null_frames=())
    data = open(path, "rb").read()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[:len(data) * 2 // 5])
    with pytest.raises(video.VideoError, match=r"truncated or corrupt: its \d+ decoded frames "
                                               r"cover [\d.]+ s of the 2.00 s"):
        video.decode(str(cut), video.DecodeOptions(frame_size=16))


def test_frames_dropped_by_fps_are_grabbed_but_never_retrieved(tmp_path, monkeypatch):
    path, _ = _gap_clip(tmp_path, null_frames=())
    calls = {"grab": 0, "retrieve": 0}
    real_open = video._open

    class Counting:
        def __init__(self, capture):
            self._capture = capture

        def grab(self):
            calls["grab"] += 1
            return self._capture.grab()

        def retrieve(self):
            calls["retrieve"] += 1
            return self._capture.retrieve()

        def __getattr__(self, name):
            return getattr(self._capture, name)

    monkeypatch.setattr(video, "_open", lambda p, t: Counting(real_open(p, t)))
    decoded = video.decode(path, video.DecodeOptions(frame_size=16, fps=5.0))
    assert len(decoded.jpegs) == 10 and calls == {"grab": 21, "retrieve": 10}

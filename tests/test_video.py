"""`pipeline.video.decode`: frame counts, resampling, colour order and per-video failures."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import opencv_frame_count

from pipeline import video


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


@pytest.mark.parametrize("mode", video.RESIZE_MODES)
def test_resize_modes_give_square_frames(mode):
    frame = np.zeros((30, 60, 3), np.uint8)
    frame[:, :15] = 255  # the left quarter: cut away by crop, kept by squash
    out = video.resize(frame, 20, mode)
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

"""Recurrence matters on order-only classes: an RNN learns them, frame and pooled cannot.

grow/shrink and fade_in/fade_out: within each pair every single frame has the
same distribution, so a frame model is at chance within a pair (video top-1 about
0.5 at best over the four classes), and so is the pooled control, which averages
the same chunk's frames without their order; an RNN over a chunk sees the order.
"""

import pytest
from conftest import synth_dataset

from trainer import evaluate, train
from trainer.config import TrainConfig

# LSTM 64: over seeds 0-9 the recurrent model reached 0.87-1.0 (GRU 32 was bimodal,
# 0.73 or 1.0). Training is deterministic (`trainer.determinism`: seeded draws, op
# determinism), so each run of this test on one machine trains the same weights and gets
# the same accuracies: it no longer fails by chance under the full suite's thread timing.
RECIPE = dict(rnn="lstm", hidden=64, head_units=(32, 16), dropout=0.1, chunk_length=8,
              frame_stride=2, frames_per_video=4, batch_size=8, epochs=16,
              steps_per_epoch=8, learning_rate=3e-3, patience=16, augment="flip", seed=0)


@pytest.fixture(scope="module")
def order_only_data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("order_only"))
    return synth_dataset(root, ("grow", "shrink", "fade_in", "fade_out"), 16, 16, 32)


def _video_top1(data_dir, out, model, **extra):
    cfg = TrainConfig(data=data_dir, out=out, model=model, **{**RECIPE, **extra})
    train.train(cfg)
    return evaluate.evaluate_run(cfg.out, split="test")["video_top1"]


@pytest.mark.slow
def test_recurrent_beats_frame_and_pooled_on_order_only_classes(order_only_data, tmp_path):
    recurrent = _video_top1(order_only_data, str(tmp_path / "recurrent"), "recurrent")
    frame = _video_top1(order_only_data, str(tmp_path / "frame"), "frame")
    pooled = _video_top1(order_only_data, str(tmp_path / "pooled"), "pooled")
    assert frame <= 0.65, f"frame model cannot see order, yet got {frame:.2f}"
    assert pooled <= 0.65, f"pooled control sees no order, yet got {pooled:.2f}"
    assert recurrent >= 0.8, f"recurrent model only reached {recurrent:.2f}"
    # Not only more frames: the pooled control sees the same frames without their order.
    assert recurrent - max(frame, pooled) >= 0.25


# Conv and attention train from scratch a little slower than the LSTM: 24 epochs. Over seeds
# 0-4 (2-4 for attention) they reached 0.87-1.0 (conv) and 0.8-0.93 (attention); attention
# without positions 0.33-0.47 (0.4-0.6 at 16 epochs).
SLOWER = {"epochs": 24}


@pytest.mark.slow
@pytest.mark.parametrize("model,extra,sees_order", [
    ("temporal_conv", SLOWER, True),
    ("attention", SLOWER, True),
    ("attention", {**SLOWER, "attn_positions": False}, False),
    ("conv2plus1d", {**SLOWER, "feature_layer": "block2_pool", "hidden": 16}, True),
])
def test_other_temporal_models_see_order_unless_blind(order_only_data, tmp_path, model, extra,
                                                      sees_order):
    """Order, not recurrence: conv, attention and the spatial (2+1)D convolutions learn the
    order-only classes too, well above the pooled control (at most 0.65 here); attention
    without positions is order-blind."""
    acc = _video_top1(order_only_data, str(tmp_path / model), model, **extra)
    if sees_order:
        assert acc >= 0.7, f"{model} {extra} only reached {acc:.2f}"
    else:
        assert acc <= 0.65, f"{model} {extra} sees no order, yet got {acc:.2f}"

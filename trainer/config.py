"""The trainer's configuration: one typed, frozen dataclass, saved as `RUN_DIR/config.json`."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from trainer import registry
from vidrec.core import run_folder

MODELS = tuple(registry.MODELS)
ENCODERS = tuple(registry.ENCODERS)
RNNS = tuple(registry.RNNS)
ORDERS = run_folder.ORDERS
AUGMENTATIONS = ("flip", "crop", "contrast", "rotate", "vflip")
DEFAULT_AUGMENT = "flip,crop,contrast,rotate"
TEMPORAL_INPUTS = ("embed", "diff", "both")
ATTENTION_POOLS = ("cls", "mean")
CONFIG_NAME = run_folder.CONFIG

# The temporal part of each model: the only settings a fair comparison lets differ.
TEMPORAL_FIELDS = {name: spec.temporal_fields for name, spec in registry.MODELS.items()}
# Where a run lives, which devices it uses and how its steps are compiled: not what it
# learns (the global batch is recorded).
PLACEMENT_FIELDS = ("data", "out", "log_root", "cpu_replicas", "devices", "jit_compile",
                    "deterministic")
# Replaced in a run's recipe by the encoder it effectively uses (see trainer.recipe).
ENCODER_SOURCE_FIELDS = ("encoder", "weights", "trainable_top_layers", "init_from",
                         "freeze_encoder", "features")


@dataclasses.dataclass(frozen=True)
class EvalProtocol:
    """Which frames of a test video every model is scored on: chosen from the video alone.

    Dense evaluation: every stored frame (``window`` 0), or the centred ``window``
    consecutive frames (all of them when the video is shorter). Each model tiles
    that frame set into its own clips (a frame each, or chunks of its chunk length
    and stride: one run of chunks per stride phase, the last chunk of a run looped),
    so models with different chunk lengths are scored on the same frames, and a
    chunk model sees frames exactly as far apart as in training.
    """

    window: int = 0

    VERSION = 1

    def __post_init__(self):
        if self.window < 0:
            raise ValueError(f"--frames must be 'all' or a positive number of frames, "
                             f"got {self.window}")

    @property
    def name(self) -> str:
        return "dense" if self.window == 0 else f"dense-center-{self.window}"

    @classmethod
    def parse(cls, text: str) -> "EvalProtocol":
        """``all`` -> every frame; ``N`` -> the centred N consecutive frames."""
        text = str(text).strip()
        if text == "all":
            return cls()
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"--frames must be 'all' or a positive number of frames, "
                             f"got {text!r}")
        return cls(int(text))

    def describe(self) -> str:
        frames = ("every stored frame" if self.window == 0 else
                  f"the centred {self.window} consecutive frames")
        return (f"{frames} of each video, tiled by each model into its own clips (one frame "
                "each, or consecutive chunks at its own chunk length and stride, the last "
                "chunk looped)")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "window": self.window, "version": self.VERSION,
                "description": self.describe()}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything one training run depends on.

    Attributes:
      data: folder written by `vidrec convert` (holds manifest.json).
      out: the run folder.
      model: ``frame`` (single images), ``pooled`` (mean of a chunk's frame
        embeddings: the order-blind control) or ``recurrent`` (RNN over them).
      encoder: image encoder base.
      weights: ``imagenet``, ``none`` or a path to a weights file for the base.
      trainable_top_layers: -1 trains the whole base; N >= 0 freezes it but the
        last N layers with weights, in forward order (the original study unfreezes
        VGG16's last 4: block4_conv3, block5_conv1, block5_conv2, block5_conv3).
      head_units: widths of the two hidden layers of the three-layer head.
      dropout: dropout in the head.
      hidden: the width of the temporal part: RNN units, temporal convolution
        channels, or the attention model's width.
      rnn, rnn_layers, bidirectional: the recurrent model.
      conv_layers, conv_kernel, conv_dilation: the temporal convolution model
        (layer i dilates by conv_dilation**i).
      attn_layers, attn_heads, attn_positions, attn_pool: the attention model
        (pre-norm transformer encoder with sinusoidal positions; without them it is order-blind;
        pooled by a class token or the mean).
      temporal_input: what an order-aware model reads: the frame embeddings
        (``embed``), the differences of consecutive ones (``diff``, after TSN's RGB
        difference) or both concatenated (``both``).
      chunk_length, frame_stride: frames per chunk and the step between them.
      frames_per_video: frame mode, frames sampled per video per epoch.
      augment: comma list from AUGMENTATIONS, or ``none``.
      batch_size: per replica; the global batch is this x replicas.
      epochs, learning_rate, patience, seed: the optimisation.
      steps_per_epoch: 0 = one pass over the training videos.
      cpu_replicas: >0 splits the CPU into that many logical devices.
      devices: explicit device names for MirroredStrategy (default: all GPUs).
      mixed_precision: float16 compute on GPU.
      jit_compile: compile the train and evaluation steps with XLA (Keras'
        ``jit_compile``); off by default (Keras' "auto" turns it off under a
        distribution strategy anyway).
      deterministic: TensorFlow's op determinism (`trainer.determinism`): the same
        command on the same machine gives the same weights and predictions. Off only
        where a GPU kernel has no deterministic version (the run then says so).
      init_from: a frame run whose encoder initialises this model's encoder.
      freeze_encoder: keep that encoder frozen.
      features: a feature cache from `vidrec embed`; trains only the temporal
        part (none for the frame model) and the head on cached embeddings of a
        frozen encoder (no augmentation possible).
      log_root: TensorBoard root; the run logs to LOG_ROOT/<run name>.
        Default: <parent of out>/tensorboard, shared by sibling runs.
    """

    data: str
    out: str
    model: str = "frame"
    encoder: str = "small_cnn"
    weights: str = "none"
    trainable_top_layers: int = -1
    head_units: tuple[int, int] = (256, 128)
    dropout: float = 0.3
    rnn: str = "lstm"
    hidden: int = 128
    rnn_layers: int = 1
    bidirectional: bool = False
    conv_layers: int = 2
    conv_kernel: int = 3
    conv_dilation: int = 2
    attn_layers: int = 1
    attn_heads: int = 2
    attn_positions: bool = True
    attn_pool: str = "cls"
    temporal_input: str = "embed"
    chunk_length: int = 8
    frame_stride: int = 1
    frames_per_video: int = 4
    augment: str = DEFAULT_AUGMENT
    batch_size: int = 16
    epochs: int = 10
    learning_rate: float = 1e-3
    patience: int = 5
    seed: int = 0
    steps_per_epoch: int = 0
    cpu_replicas: int = 0
    devices: tuple[str, ...] = ()
    mixed_precision: bool = False
    jit_compile: bool = False
    deterministic: bool = True
    init_from: str = ""
    freeze_encoder: bool = False
    features: str = ""
    log_root: str = ""

    def __post_init__(self):
        registry.lookup(registry.MODELS, self.model, "--model")
        registry.lookup(registry.ENCODERS, self.encoder, "--encoder")
        registry.lookup(registry.RNNS, self.rnn, "--rnn")
        for name, low in (("hidden", 1), ("rnn_layers", 1), ("chunk_length", 1),
                          ("conv_layers", 1), ("conv_kernel", 1), ("conv_dilation", 1),
                          ("attn_layers", 1), ("attn_heads", 1),
                          ("frame_stride", 1), ("frames_per_video", 1),
                          ("batch_size", 1), ("epochs", 1), ("patience", 1),
                          ("steps_per_epoch", 0), ("cpu_replicas", 0),
                          ("trainable_top_layers", -1)):
            if getattr(self, name) < low:
                raise ValueError(f"--{name.replace('_', '-')} must be >= {low}, "
                                 f"got {getattr(self, name)}")
        self._check_temporal()
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.learning_rate <= 0:
            raise ValueError(f"--learning-rate must be > 0, got {self.learning_rate}")
        if len(self.head_units) != 2 or min(self.head_units) < 1:
            raise ValueError(f"head_units must be two positive widths, got {self.head_units}")
        augment_list(self.augment)

    def _check_temporal(self) -> None:
        if self.temporal_input not in TEMPORAL_INPUTS:
            raise ValueError(f"--temporal-input must be one of {', '.join(TEMPORAL_INPUTS)}, "
                             f"got {self.temporal_input!r}")
        if self.attn_pool not in ATTENTION_POOLS:
            raise ValueError(f"--attn-pool must be one of {', '.join(ATTENTION_POOLS)}, "
                             f"got {self.attn_pool!r}")
        if self.temporal_input != "embed" and self.model == "pooled":
            raise ValueError(f"--temporal-input {self.temporal_input} would let the pooled "
                             "control see order (the mean of differences is last minus first): "
                             "it reads the embeddings only")
        if self.temporal_input != "embed" and self.chunk_length < 2:
            raise ValueError(f"--temporal-input {self.temporal_input} needs --chunk-length >= 2, "
                             f"got {self.chunk_length}")
        if self.model == "attention" and self.hidden < self.attn_heads:
            raise ValueError(f"--hidden {self.hidden} must be >= --attn-heads "
                             f"{self.attn_heads} (each head gets hidden // heads dims)")

    @property
    def order_aware(self) -> bool:
        """Whether this model can use frame order (attention without positions cannot)."""
        return self.kind.order_aware(self)

    def kind_info(self) -> dict[str, bool]:
        """What `vidrec compare` needs to know of this model, written in its eval files."""
        return {"takes_chunks": self.kind.takes_chunks, "order_aware": self.order_aware,
                "recurrent": self.kind.recurrent}

    @property
    def kind(self) -> registry.Model:
        """The registry entry of `model`: chunks or frames, its temporal part."""
        return registry.MODELS[self.model]

    @property
    def run_name(self) -> str:
        """The run folder's name; ``GROUP/seedN`` for one seed of a seed group."""
        return run_folder.run_name(self.out)

    @property
    def log_dir(self) -> str:
        """LOG_ROOT/<run name>; the default root is beside the run (beside its seed group)."""
        parent = os.path.dirname(self.out.rstrip("/"))
        if run_folder.seed_group_of(self.out):
            parent = os.path.dirname(parent)
        root = self.log_root or f"{parent or '.'}/tensorboard"
        return f"{root.rstrip('/')}/{self.run_name}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        fields = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in fields}
        for k in ("head_units", "devices"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


def augment_list(spec: str) -> tuple[str, ...]:
    """Parses ``--augment`` (``none`` or a comma list of AUGMENTATIONS)."""
    if spec.strip() in ("", "none"):
        return ()
    items = tuple(s.strip() for s in spec.split(",") if s.strip())
    bad = [s for s in items if s not in AUGMENTATIONS]
    if bad:
        raise ValueError(f"--augment got unknown {bad}; use 'none' or a comma list of "
                         f"{', '.join(AUGMENTATIONS)}")
    return items


def save_config(cfg: TrainConfig, run_dir: str) -> None:
    """Writes config.json: the config's fields, and under "environment" what bit-identical
    reruns depend on beyond them (`trainer.determinism.environment`; ignored on load)."""
    import tensorflow as tf  # here, not at the top: `vidrec train --help` needs no TensorFlow

    from trainer import determinism

    tf.io.gfile.makedirs(run_dir)
    with tf.io.gfile.GFile(f"{run_dir.rstrip('/')}/{CONFIG_NAME}", "w") as f:
        json.dump({**cfg.to_dict(), "environment": determinism.environment(cfg.deterministic)},
                  f, indent=2)


def load_config(run_dir: str) -> TrainConfig:
    import tensorflow as tf

    path = f"{run_dir.rstrip('/')}/{CONFIG_NAME}"
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{run_dir!r} is not a vidrec run: no {CONFIG_NAME}")
    with tf.io.gfile.GFile(path) as f:
        return TrainConfig.from_dict(json.load(f))


def load_frame_run(run_dir: str, flag: str, encoder: str | None = None) -> TrainConfig:
    """The config of a FRAME run on images: what `--init-from` and `vidrec embed` accept.

    Args:
      encoder: when given, the run must have this encoder.

    Raises:
      FileNotFoundError: no run there. ValueError: a run of another kind, or with
        another encoder, named.
    """
    cfg = load_config(run_dir)
    if cfg.kind.takes_chunks or cfg.features:
        kind = f"{cfg.model!r} run" + (" on cached features" if cfg.features else "")
        raise ValueError(f"{flag} {run_dir!r} is a {kind}; it must be a 'frame' run on images")
    if encoder is not None and cfg.encoder != encoder:
        raise ValueError(f"{flag} {run_dir!r} has encoder {cfg.encoder!r}, this run has "
                         f"{encoder!r}")
    return cfg

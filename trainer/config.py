"""The trainer's configuration: one typed, frozen dataclass, saved as `RUN_DIR/config.json`.

`TrainConfig`'s fields are the shared ones declared here and each registered model's own
settings (`trainer.registry`, `trainer.temporal`), all flat: config.json keeps one key
per field, and `vidrec train` one flag per field, its help taken from the field.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from trainer import registry
from trainer.eval_protocol import EvalProtocol  # noqa: F401  (config.EvalProtocol)
from trainer.temporal.base import Temporal, check_field, interleave, setting
from vidrec.core import run_folder

MODELS = tuple(registry.MODELS)
ENCODERS = tuple(registry.ENCODERS)
ORDERS = run_folder.ORDERS
AUGMENTATIONS = ("flip", "crop", "contrast", "rotate", "vflip")
DEFAULT_AUGMENT = "flip,crop,contrast,rotate"
TEMPORAL_INPUTS = ("embed", "diff", "both")
FRAME_INPUTS = ("rgb", "diff", "both")
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
class _Shared:
    """The fields every run has; each model's own settings join them in `TrainConfig`."""

    data: str = dataclasses.field(metadata={"help": (
        "folder written by `vidrec convert` (holds manifest.json and the shards)")})
    out: str = dataclasses.field(metadata={"help": (
        "the run folder (config.json, model.keras, saved_model/, eval_val.json, "
        "train_summary.json); an unfinished run with the same flags in this folder resumes "
        "from its backup; a finished run or other flags are refused (see --overwrite)")})
    model: str = setting("frame", f"the model, one of {registry.describe_models()}",
                         choices=MODELS)
    encoder: str = setting("small_cnn", f"image encoder, one of {', '.join(ENCODERS)} "
                           "(small_cnn: tiny, for tests and the demo)", choices=ENCODERS)
    weights: str = setting("none", "encoder base weights: imagenet, none, or a weights file "
                           "loaded into the base")
    trainable_top_layers: int = setting(
        -1, "-1 trains the whole encoder; N >= 0 freezes the base except its last N layers "
        "with weights, in forward order (the original study unfreezes VGG16's last 4: "
        "block4_conv3 to block5_conv3); printed at start and listed in train_summary.json",
        low=-1)
    head_units: tuple[int, int] = setting(
        (256, 128), "widths of the head's two hidden Dense layers (then a softmax layer)")
    dropout: float = setting(0.3, "dropout after each hidden head layer")
    hidden: int = setting(128, "width of the temporal part: units per RNN layer, temporal "
                          "convolution channels, or the attention model's width", low=1)
    temporal_input: str = setting(
        "embed", "what an order-aware model reads: the frame embeddings (embed), the "
        "differences of consecutive ones (diff, after TSN's RGB difference: slow changes "
        "become salient) or both side by side (both)", choices=TEMPORAL_INPUTS)
    frame_input: str = setting(
        "rgb", "what a chunk model's encoder sees of each frame: the frame (rgb), its pixel "
        "difference to the chunk's previous frame (diff, TSN's RGB difference; the first "
        "frame's is zero), or both stacked as 6 channels (both; encoders that take any "
        "channel count: small_cnn). A difference image holds the sign of a change, so "
        "every chunk model with diff or both sees order (a pooled run with diff is not the "
        "order-blind control: it sees motion and its direction between neighbours)",
        choices=FRAME_INPUTS)
    feature_layer: str = setting(
        "", "spatial models (convlstm, conv2plus1d): the encoder layer whose feature maps "
        "they read; empty = the encoder's last conv block, before its global pooling")
    chunk_length: int = setting(8, "frames per chunk; videos shorter than the chunk span "
                                "(chunk_length-1)*frame_stride+1 are LOOPED (indices wrap "
                                "around)", low=1)
    frame_stride: int = setting(1, "step between a chunk's frames", low=1)
    frames_per_video: int = setting(4, "frame model: random frames sampled per video per "
                                    "epoch", low=1)
    augment: str = setting(
        DEFAULT_AUGMENT, f"comma list of {', '.join(AUGMENTATIONS)}, or 'none'; one random "
        f"draw per chunk, identical on every frame. vflip is not in the default "
        f"({DEFAULT_AUGMENT}) because it turns 'move up' into 'move down'")
    batch_size: int = setting(16, "batch size PER REPLICA; the global batch is this x "
                              "replicas", low=1)
    epochs: int = setting(10, "maximum epochs (early stopping on val accuracy may end "
                          "sooner)", low=1)
    learning_rate: float = setting(1e-3, "Adam learning rate (halved when val loss "
                                   "plateaus)")
    warmup_epochs: int = setting(
        0, "linear learning-rate warm-up over the first N epochs (epoch e at rate x "
        "(e+1)/(N+1)); early stopping counts only after it", low=0)
    patience: int = setting(5, "epochs without val accuracy gain before early stopping",
                            low=1)
    seed: int = setting(0, "seed of sampling, augmentation and initialisation")
    steps_per_epoch: int = setting(0, "0 = one pass over the training videos", low=0)
    cpu_replicas: int = setting(0, "split the CPU into N logical devices and mirror over "
                                "them (tests and CPU-only multi-replica runs)", low=0)
    devices: tuple[str, ...] = setting((), "comma list of devices for MirroredStrategy, e.g. "
                                       "/gpu:0,/gpu:1 (default: all GPUs, else the CPU)")
    mixed_precision: bool = setting(False, "float16 compute on GPU (ignored on CPU)")
    jit_compile: bool = setting(False, "compile the train and evaluation steps with XLA "
                                "(faster on GPUs for many models; off by default)")
    deterministic: bool = setting(
        True, "TensorFlow's op determinism: the same command on the same machine gives the "
        "same weights, history and predictions (bit for bit). --no-deterministic only where "
        "a GPU kernel has no deterministic version and raises UnimplementedError "
        "(benchmarks/gpu.sh lists which model kinds do); the run is then not reproducible")
    init_from: str = setting("", "a trained FRAME run whose encoder weights initialise this "
                             "model's encoder")
    freeze_encoder: bool = setting(False, "with --init-from: keep that encoder frozen")
    features: str = setting(
        "", "a feature cache from `vidrec embed`: train only the temporal part and head on "
        "cached per-frame embeddings of that frame run's frozen encoder (fast; any --model). "
        "Augmentation cannot apply to cached embeddings, so --augment is ignored")
    log_root: str = setting("", "TensorBoard root; the run logs to LOG_ROOT/<run name> "
                            "(default: <parent of --out>/tensorboard)")


class _TrainConfigMethods:
    """`TrainConfig`'s checks and views (its fields: `_Shared` and the models' settings)."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            check_field(f, getattr(self, f.name))
        if self.temporal_input != "embed" and self.chunk_length < 2:
            raise ValueError(f"--temporal-input {self.temporal_input} needs --chunk-length >= 2, "
                             f"got {self.chunk_length}")
        self._check_inputs()
        if self.kind.check:
            self.kind.check(self)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.learning_rate <= 0:
            raise ValueError(f"--learning-rate must be > 0, got {self.learning_rate}")
        if len(self.head_units) != 2 or min(self.head_units) < 1:
            raise ValueError(f"head_units must be two positive widths, got {self.head_units}")
        augment_list(self.augment)

    def _check_inputs(self) -> None:
        """--frame-input and --feature-layer against the model, encoder and features."""
        if self.frame_input != "rgb":
            if not self.kind.takes_chunks:
                raise ValueError(f"--frame-input {self.frame_input} needs a chunk model (a "
                                 f"difference needs a previous frame); --model {self.model} "
                                 "reads single frames")
            if self.features:
                raise ValueError(f"--frame-input {self.frame_input} feeds pixel differences "
                                 "to the encoder; --features caches embeddings of RGB frames")
            if self.chunk_length < 2:
                raise ValueError(f"--frame-input {self.frame_input} needs --chunk-length >= 2, "
                                 f"got {self.chunk_length}")
        if self.frame_input == "both" and not registry.ENCODERS[self.encoder].any_channels:
            takes = [n for n, e in registry.ENCODERS.items() if e.any_channels]
            raise ValueError(f"--frame-input both stacks 6 channels; encoder {self.encoder} "
                             f"takes 3 (its preprocessing and ImageNet weights): use "
                             f"--frame-input diff, or an encoder of {', '.join(takes)}")
        if self.feature_layer and not self.kind.spatial:
            spatial = [n for n, m in registry.MODELS.items() if m.spatial]
            raise ValueError(f"--feature-layer {self.feature_layer!r} is for the spatial "
                             f"models ({', '.join(spatial)}); --model {self.model} reads "
                             "pooled embeddings")

    @property
    def order_aware(self) -> bool:
        """Whether this model can use frame order (attention without positions cannot; any
        chunk model fed pixel differences can: a difference holds the sign of a change)."""
        return self.kind.order_aware(self) or (self.kind.takes_chunks and
                                               self.frame_input != "rgb")

    def kind_info(self) -> dict[str, bool]:
        """What `vidrec compare` needs to know of this model, written in its eval files."""
        return {"takes_chunks": self.kind.takes_chunks, "order_aware": self.order_aware,
                "recurrent": self.kind.recurrent, "spatial": self.kind.spatial}

    @property
    def kind(self) -> Temporal:
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


def _train_config() -> type:
    """`_Shared`'s fields with every registered model's settings after ``hidden``
    (`interleave`: config.json's key order as before the settings moved)."""
    def copy(f: dataclasses.Field):
        return (f.name, f.type, dataclasses.field(default=f.default, metadata=f.metadata))

    shared = dataclasses.fields(_Shared)
    cut = [f.name for f in shared].index("hidden")
    own = [f for m in registry.MODELS.values() if m.settings
           for f in dataclasses.fields(m.settings)]
    fields = [*shared[:cut], *interleave(own, [shared[cut]]), *shared[cut + 1:]]
    return dataclasses.make_dataclass(
        "TrainConfig", [copy(f) for f in fields], bases=(_TrainConfigMethods,), frozen=True,
        namespace={"__module__": __name__, "__doc__": (
            "Everything one training run depends on: the shared fields (`_Shared`) and "
            "every model's own settings (`trainer.temporal`), flat; each field's meaning is "
            "its metadata's help (the flag's help).")})


TrainConfig = _train_config()


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

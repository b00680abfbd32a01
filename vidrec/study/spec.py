"""The study spec: one TOML file, read with `tomllib`, validated before any work starts.

Schema (every table but [study], [data] and one [[run]] is optional)::

    [study]
    name = "hmdb51"          # default: the file's stem
    out = "runs"             # default output folder (`vidrec study --out` overrides it)
    splits = [1, 2, 3]       # official splits, each 1, 2 or 3, at most once
    seeds = [0, 1, 2]        # every compared run is trained once per seed

    [data]                   # exactly one of synth, camera, videos (+ split_files), converted
    converted = "hmdb51/split{split}"    # `vidrec convert` outputs, one per split
    # videos = "hmdb51/videos"           # class folders, converted by the study into
    # split_files = "hmdb51/splits"      #   OUT/split<N>/data
    # synth = {clips_per_class = 32}     # `vidrec synth` flags: synthetic videos in OUT/raw
    # camera = {size = 48}               # `vidrec camera` flags: real footage in OUT/raw
    convert = {frame_size = 128}         # `vidrec convert` flags (with videos, synth, camera)
    inspect = false                      # `vidrec inspect` each split's data

    [encoder]                # `vidrec train` flags of each split's encoder, a frame model on
    cache = true             #   images; cache = true: `vidrec embed` its frozen embeddings and
    encoder = "vgg16"        #   train every compared run on them (OUT/split<N>/features)

    [train]                  # `vidrec train` flags every compared run shares (the recipe)
    chunk_length = 16

    [[run]]                  # one compared run: a name and its own `vidrec train` flags
    name = "lstm"
    model = "recurrent"
    gpus = 1                 # GPUs it trains on (MirroredStrategy); default 1 where there are

    [tune]                   # `vidrec tune` flags: a search on the recipe, its best retrained
    max_trials = 30          #   under the seeds and compared as `best`

    [evaluate]
    orders = ["shuffled"]    # besides natural, for every multi-frame run

    [report]                 # `vidrec compare` flags
    order_classes = "a,b"

A key in a flags table is the flag's name with `_` (or `-`) for its dashes; `true`
gives a switch, `false` its `--no-` form (or nothing), a list a comma list.
`{split}` in any string is the split's number. The folders and seeds the study
manages itself (--data, --features, --out, --seed(s), --overwrite...) are refused
in the tables. Every error is one line naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Mapping

from vidrec.core import run_folder
from vidrec.study.flags import SPLIT, Flags, SpecError, flags_of

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: its backport (pyproject.toml)
    import tomli as tomllib

OFFICIAL_SPLITS = (1, 2, 3)
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RESERVED_NAMES = ("encoder", "best")  # OUT/split<N>/runs/encoder; the tuner's best
ORDERS = tuple(o for o in run_folder.ORDERS if o != "natural")
GENERATORS = ("synth", "camera")  # the commands that write videos and split files in OUT/raw

# Study keys of each table (not flags); the rest of a flags table are the command's flags.
TABLE_KEYS = {
    "study": {"name", "out", "splits", "seeds"},
    "data": {"synth", "camera", "videos", "split_files", "converted", "convert", "inspect"},
    "encoder": {"cache", "gpus"},
    "train": set(),
    "run": {"name", "gpus"},
    "tune": {"gpus"},
    "evaluate": {"orders"},
    "report": set(),
}
@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One compared run: its folder name, its own train flags, the GPUs it asks for."""

    name: str
    flags: Flags
    gpus: int = 1


@dataclasses.dataclass(frozen=True)
class Spec:
    """A validated study spec (`load`)."""

    path: str
    name: str
    out: str
    splits: tuple[int, ...]
    seeds: tuple[int, ...]
    synth: Flags | None  # the generated videos: `vidrec synth` or `vidrec camera` flags
    videos: str | None
    split_files: str | None
    converted: str | None
    convert: Flags
    inspect: bool
    encoder: Flags | None
    encoder_gpus: int
    cache: bool
    train: Flags
    runs: tuple[RunSpec, ...]
    tune: Flags | None
    tune_gpus: int
    orders: tuple[str, ...]
    report: Flags
    document: Mapping[str, Any]  # the TOML after --set: saved with the study

    def entries(self) -> tuple[str, ...]:
        """The names `--overwrite` takes: data, encoder, each run, tune, report."""
        return ("data", *(("encoder",) if self.encoder else ()),
                *(r.name for r in self.runs), *(("tune",) if self.tune else ()), "report")


# --------------------------------------------------------------------------- the document

def read(path: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The TOML document of `path` with `overrides` (dotted key -> value) applied."""
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"{path}: not valid TOML: {err}") from None
    for dotted, value in (overrides or {}).items():
        *tables, key = dotted.split(".")
        node = doc
        for name in tables:
            node = node.setdefault(name, {})
            if not isinstance(node, dict):
                raise SpecError(f"--set {dotted}: {name!r} is not a table in {path}")
        node[key] = value
    return doc


def parse_set(text: str) -> tuple[str, Any]:
    """``key.sub=VALUE`` -> (key.sub, value): VALUE read as a TOML value, else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise SpecError(f"--set takes KEY=VALUE (e.g. study.seeds=[0,1]), got {text!r}")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key.strip(), parsed


def _table(doc: Mapping[str, Any], name: str, path: str) -> dict[str, Any] | None:
    value = doc.get(name)
    if value is not None and not isinstance(value, dict):
        raise SpecError(f"{path}: [{name}] must be a table")
    return value


def _check_keys(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise SpecError(f"{where}: unknown key {key!r} (keys: {', '.join(sorted(allowed))})")


def _int_list(where: str, value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise SpecError(f"{where}: {what} must be a non-empty list of integers, got {value!r}")
    return tuple(value)


def _gpus(where: str, table: Mapping[str, Any]) -> int:
    gpus = table.get("gpus", 1)
    if not isinstance(gpus, int) or isinstance(gpus, bool) or gpus < 1:
        raise SpecError(f"{where}: gpus must be an integer >= 1, got {gpus!r}")
    return gpus


def _study(doc: Mapping[str, Any], path: str) -> tuple[str, str, tuple[int, ...], tuple[int, ...]]:
    study = _table(doc, "study", path)
    if study is None:
        raise SpecError(f"{path}: no [study] table (splits and seeds)")
    where = f"{path}: [study]"
    _check_keys(where, study, TABLE_KEYS["study"])
    splits = _int_list(where, study.get("splits"), "splits")
    if any(s not in OFFICIAL_SPLITS for s in splits) or len(set(splits)) < len(splits):
        raise SpecError(f"{where}: splits must list official splits 1, 2, 3 at most once each, "
                        f"got {list(splits)}")
    seeds = _int_list(where, study.get("seeds"), "seeds")
    try:
        run_folder.parse_seeds(",".join(str(s) for s in seeds), flag=f"{where} seeds")
    except ValueError as err:
        raise SpecError(str(err)) from None
    name = str(study.get("name") or os.path.splitext(os.path.basename(path))[0])
    return name, str(study.get("out") or f"{name}_out"), splits, seeds


def _data(doc: Mapping[str, Any], path: str) -> dict[str, Any]:
    data = _table(doc, "data", path)
    if data is None:
        raise SpecError(f"{path}: no [data] table (synth, camera, videos + split_files, or "
                        "converted)")
    where = f"{path}: [data]"
    _check_keys(where, data, TABLE_KEYS["data"])
    sources = [k for k in (*GENERATORS, "videos", "converted") if k in data]
    if len(sources) != 1:
        raise SpecError(f"{where}: give exactly one of synth, camera, videos (with "
                        f"split_files) or converted, got {sources or 'none'}")
    if ("videos" in data) != ("split_files" in data):
        raise SpecError(f"{where}: videos and split_files go together")
    if "converted" in data and "convert" in data:
        raise SpecError(f"{where}: convert flags need videos, synth or camera, not converted "
                        "data")
    if "converted" in data and len(doc["study"]["splits"]) > 1 and \
            SPLIT not in str(data["converted"]):
        raise SpecError(f"{where}: converted {data['converted']!r} needs {SPLIT} (one "
                        "conversion per split)")
    for key in ("videos", "split_files", "converted"):
        if key in data and not isinstance(data[key], str):
            raise SpecError(f"{where}: {key} must be a path, got {data[key]!r}")
    if not isinstance(data.get("inspect", False), bool):
        raise SpecError(f"{where}: inspect must be true or false")
    for key in (*GENERATORS, "convert"):
        if key in data and not isinstance(data[key], dict):
            raise SpecError(f"{where}: {key} must be a table of vidrec {key} flags")
    return data


def _runs(doc: Mapping[str, Any], path: str) -> tuple[RunSpec, ...]:
    tables = doc.get("run")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise SpecError(f"{path}: no [[run]] tables (each compared run: a name and its flags)")
    runs, seen = [], set()
    for i, table in enumerate(tables, 1):
        name = table.get("name")
        where = f"{path}: [[run]] #{i}" + (f" {name!r}" if name else "")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise SpecError(f"{where}: name must be a folder name (letters, digits, _ . -), "
                            f"got {name!r}")
        if name in seen:
            raise SpecError(f"{path}: run name {name!r} is used twice: each run is one folder")
        if name in RESERVED_NAMES:
            raise SpecError(f"{where}: the name {name!r} is the study's own "
                            f"({', '.join(RESERVED_NAMES)}): choose another")
        seen.add(name)
        runs.append(RunSpec(name, flags_of(where, "train", table, TABLE_KEYS["run"]),
                            _gpus(where, table)))
    return tuple(runs)


def load(path: str, overrides: Mapping[str, Any] | None = None) -> Spec:
    """Reads and validates the spec at `path` (with `--set` overrides).

    Raises:
      SpecError: one line naming the file and the key, before any work.
    """
    doc = read(path, overrides)
    _check_keys(path, {k: v for k, v in doc.items()}, set(TABLE_KEYS))
    name, out, splits, seeds = _study(doc, path)
    data = _data(doc, path)
    encoder = _table(doc, "encoder", path)
    train = _table(doc, "train", path) or {}
    tune = _table(doc, "tune", path)
    evaluate = _table(doc, "evaluate", path) or {}
    report = _table(doc, "report", path) or {}
    _check_keys(f"{path}: [evaluate]", evaluate, TABLE_KEYS["evaluate"])
    orders = evaluate.get("orders", [])
    if not isinstance(orders, list) or any(o not in ORDERS for o in orders) or \
            len(set(orders)) < len(orders):
        raise SpecError(f"{path}: [evaluate] orders must list {', '.join(ORDERS)} at most once "
                        f"each (natural is always evaluated), got {orders!r}")
    cache = bool(encoder and encoder.get("cache", False))
    spec = Spec(
        path=path, name=name, out=out, splits=splits, seeds=seeds,
        synth=next((flags_of(f"{path}: [data] {g}", g, data[g], set()) for g in GENERATORS
                    if g in data), None),
        videos=data.get("videos"), split_files=data.get("split_files"),
        converted=data.get("converted"),
        convert=flags_of(f"{path}: [data] convert", "convert", data.get("convert", {}), set()),
        inspect=bool(data.get("inspect", False)),
        encoder=(flags_of(f"{path}: [encoder]", "train", encoder, TABLE_KEYS["encoder"])
                 if encoder is not None else None),
        encoder_gpus=_gpus(f"{path}: [encoder]", encoder or {}), cache=cache,
        train=flags_of(f"{path}: [train]", "train", train, set()), runs=_runs(doc, path),
        tune=(flags_of(f"{path}: [tune]", "tune", tune, TABLE_KEYS["tune"])
              if tune is not None else None),
        tune_gpus=_gpus(f"{path}: [tune]", tune or {}), orders=tuple(orders),
        report=flags_of(f"{path}: [report]", "compare", report, set()), document=doc)
    if spec.encoder is not None and spec.encoder.get("model", "frame") != "frame":
        raise SpecError(f"{path}: [encoder] trains a frame model on images; model "
                        f"{spec.encoder.get('model')!r} is not one")
    return spec

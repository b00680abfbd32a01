"""Which video goes to which split: HMDB51 split files, or folders with hashed splits.

Pure Python (no Beam, no TensorFlow): the caller lists the files and reads the
split files, these functions only decide.

HMDB51 split files are named ``<class>_test_split{1,2,3}.txt``; each line is
``<file name> <id>`` with id 1 = train, 2 = test, 0 = unused. Validation is
carved out of the official train list only, grouped by source film, so no film
is in both train and val. Folder-per-class data (UCF-style) has no split files:
test and val are both carved by the same film-grouped hash.

Carving rule (`carve_films`): within one class, the films are ranked by
``sha256("<seed>:<film>")`` and the first ``ceil(fraction * n_films)`` are
carved out, but never all of them (at least one film stays). So a class with
two or more films always gets at least one carved film when ``fraction > 0``,
and the choice is deterministic, stable under re-runs and independent of the
order the files were listed in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import posixpath
import re
from typing import Iterable, Mapping, Sequence

VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv",
                    ".flv", ".ogv", ".3gp")
SPLIT_IDS = {1: "train", 2: "test"}
UNUSED_ID = 0
_SPLIT_FILE_RE = re.compile(r"^(?P<cls>.+)_test_split(?P<n>[123])\.txt$")
_UCF_RE = re.compile(r"^v_.+_(?P<group>g\d+)_c\d+$")


@dataclasses.dataclass(frozen=True)
class PlannedVideo:
    """A video to convert: where it is, its class and its split."""

    path: str
    class_name: str
    split: str
    film: str

    @property
    def media_id(self) -> str:
        """Stable id ``<class>/<file stem>``."""
        return f"{self.class_name}/{file_stem(self.path)}"


@dataclasses.dataclass(frozen=True)
class Failure:
    """A video that will not be in the output, and why (one line of failures.jsonl)."""

    path: str
    reason: str
    class_name: str | None = None
    split: str | None = None

    def to_json(self) -> dict:
        return {"path": self.path, "reason": self.reason, "class": self.class_name,
                "split": self.split}


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the conversion will do.

    Attributes:
      classes: class names, sorted; the label index is the position.
      videos: videos to decode, sorted by (split, media id).
      failures: videos failed before decoding (missing file, in no split file).
      unused: entries marked 0 (unused) in the split files; neither converted nor failed.
      source: ``hmdb51-splits`` or ``folder-per-class``.
    """

    classes: tuple[str, ...]
    videos: tuple[PlannedVideo, ...]
    failures: tuple[Failure, ...]
    unused: int
    source: str

    @property
    def listed(self) -> int:
        """Videos the conversion was asked for: ``written + failed`` once it has run."""
        return len(self.videos) + len(self.failures)


def file_stem(path: str) -> str:
    """The file name of `path` without folder and extension."""
    return posixpath.splitext(posixpath.basename(path))[0]


def is_video(path: str) -> bool:
    """Whether `path` has a video file extension (case-insensitive)."""
    return posixpath.splitext(path)[1].lower() in VIDEO_EXTENSIONS


def parse_split_file_name(name: str) -> tuple[str, int] | None:
    """``brush_hair_test_split1.txt`` -> ``("brush_hair", 1)``; None for other names."""
    m = _SPLIT_FILE_RE.match(posixpath.basename(name))
    return (m.group("cls"), int(m.group("n"))) if m else None


def parse_split_file(text: str, source: str = "<split file>") -> list[tuple[str, int]]:
    """Parses the lines ``<file name> <id>`` of one split file.

    Whitespace of any kind separates name and id, blank lines and trailing
    whitespace are ignored, and names keep every other character (``#``,
    ``(``, ``!``, ``&``, ``'``...).

    Raises:
      ValueError: a line without an id, or an id other than 0, 1 or 2.
    """
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.rsplit(None, 1)
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise ValueError(f"{source}:{number}: expected '<file> <0|1|2>', got {line!r}")
        entries.append((parts[0], int(parts[1])))
    return entries


def film_key(file_name: str, class_name: str) -> str:
    """The source film of a clip, the unit that must stay inside one split.

    UCF101: ``v_<Class>_g08_c01.avi`` -> ``g08`` (the group of clips from one recording).
    HMDB51: ``<film>_<class>_<tags>.avi`` -> ``<film>`` (last ``_<class>_``).
    Otherwise: the stem without a trailing ``_<number>``.
    """
    stem = file_stem(file_name)
    m = _UCF_RE.match(stem)
    if m:
        return m.group("group")
    cut = stem.rfind(f"_{class_name}_")
    if cut > 0:
        return stem[:cut]
    return re.sub(r"_\d+$", "", stem) or stem


def hash_unit(key: str, seed: int) -> float:
    """Deterministic hash of ``"<seed>:<key>"`` into [0, 1)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def carve_films(films: Iterable[str], fraction: float, seed: int) -> set[str]:
    """The films carved out of one class (see the module docstring for the rule)."""
    films = sorted(set(films), key=lambda f: (hash_unit(f, seed), f))
    if fraction <= 0 or len(films) < 2:
        return set()
    return set(films[:min(len(films) - 1, math.ceil(fraction * len(films)))])


def _carve_val(videos: list[PlannedVideo], val_fraction: float, seed: int) -> list[PlannedVideo]:
    """Moves the carved train films of each class to val."""
    by_class: dict[str, set[str]] = {}
    for v in videos:
        if v.split == "train":
            by_class.setdefault(v.class_name, set()).add(v.film)
    val = {c: carve_films(films, val_fraction, seed) for c, films in by_class.items()}
    return [dataclasses.replace(v, split="val")
            if v.split == "train" and v.film in val[v.class_name] else v for v in videos]


def _finish(classes, videos, failures, unused, source) -> Plan:
    videos = sorted(videos, key=lambda v: (v.split, v.media_id, v.path))
    failures = sorted(failures, key=lambda f: (f.path, f.reason))
    return Plan(tuple(sorted(classes)), tuple(videos), tuple(failures), unused, source)


def plan_hmdb(video_files: Mapping[str, Sequence[str]], split_texts: Mapping[str, str],
              *, val_fraction: float, seed: int) -> Plan:
    """Plans an HMDB51-style conversion from official split files.

    Args:
      video_files: class folder name -> paths of the video files in it.
      split_texts: class name -> content of its ``<class>_test_split<n>.txt``.
      val_fraction: fraction of each class's train films moved to val.
      seed: seed of the film hash.

    Returns:
      The plan. A video listed (id 1 or 2) but not found, and a video found but
      listed in no split file, are failures with their reason.
    """
    in_folder = {(c, posixpath.basename(p)): p for c, ps in video_files.items() for p in ps}
    by_name: dict[str, list[str]] = {}
    for (_, name), path in in_folder.items():
        by_name.setdefault(name, []).append(path)
    videos, failures, seen, unused = [], [], set(), 0
    for class_name in sorted(split_texts):
        source = f"{class_name}_test_split"
        for name, split_id in parse_split_file(split_texts[class_name], source):
            if (class_name, name) in seen:
                continue  # a repeated line
            seen.add((class_name, name))
            if split_id == UNUSED_ID:
                unused += 1
                continue
            split = SPLIT_IDS[split_id]
            path = in_folder.get((class_name, name))
            if path is None and len(by_name.get(name, ())) == 1:
                path = by_name[name][0]  # filed under another folder, found by name
            if path is None:
                failures.append(Failure(
                    f"{class_name}/{name}", f"listed in {source} file but no such video",
                    class_name, split))
                continue
            videos.append(PlannedVideo(path, class_name, split, film_key(name, class_name)))
    listed_names = {name for _, name in seen}
    for (folder, name), path in sorted(in_folder.items()):
        if name not in listed_names:
            failures.append(Failure(path, "video in no split file", folder, None))
    videos = _carve_val(videos, val_fraction, seed)
    return _finish(split_texts.keys(), videos, failures, unused, "hmdb51-splits")


def plan_folders(video_files: Mapping[str, Sequence[str]], *, test_fraction: float,
                 val_fraction: float, seed: int) -> Plan:
    """Plans a folder-per-class conversion: test, then val, carved by film hash.

    Args:
      video_files: class folder name -> paths of the video files in it.
      test_fraction: fraction of each class's films that go to test.
      val_fraction: fraction of each class's remaining (train) films moved to val.
      seed: seed of the film hash.
    """
    videos = []
    for class_name, paths in video_files.items():
        films = {p: film_key(posixpath.basename(p), class_name) for p in paths}
        test = carve_films(films.values(), test_fraction, seed)
        videos += [PlannedVideo(p, class_name, "test" if f in test else "train", f)
                   for p, f in films.items()]
    videos = _carve_val(videos, val_fraction, seed)
    return _finish(video_files.keys(), videos, [], 0, "folder-per-class")

"""Which video goes to which split: HMDB51 split files, or folders with hashed splits.

Pure Python (no Beam, no TensorFlow): the caller lists the files and reads the
split files, these functions only decide.

HMDB51 split files are named ``<class>_test_split{1,2,3}.txt``; each line is
``<file name> <id>`` with id 1 = train, 2 = test, 0 = unused. Validation is
carved out of the official train list only; the test list is never touched.
Folder-per-class data (UCF-style) has no split files: test is carved first,
then val from what is left, both by the same rule.

Films stay whole: every clip of one source film lands in one split, across
classes; the carving rule that picks the held-out films is `pipeline.carve`.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from typing import Mapping, Sequence

from pipeline import carve

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
        """Id ``<class>/<file name>``, extension kept: unique by construction, since a
        plan holds a (class, file name) once (``a.avi`` and ``a.mp4`` are two videos)."""
        return f"{self.class_name}/{posixpath.basename(self.path)}"


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

    A repeated line is kept once.

    Raises:
      ValueError: a line without an id, an id other than 0, 1 or 2, or a file
        listed twice with different ids (naming both line numbers).
    """
    entries, first_line = [], {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.rsplit(None, 1)
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise ValueError(f"{source}:{number}: expected '<file> <0|1|2>', got {line!r}")
        name, split_id = parts[0], int(parts[1])
        if name in first_line:
            earlier, earlier_id = first_line[name]
            if earlier_id != split_id:
                raise ValueError(f"{source}: lines {earlier} and {number} give {name} "
                                 f"different ids ({earlier_id} and {split_id})")
            continue
        first_line[name] = (number, split_id)
        entries.append((name, split_id))
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


def _carve(videos: list[PlannedVideo], source: str, target: str, fraction: float,
           seed: int) -> list[PlannedVideo]:
    """Moves the films carved from the `source` split videos to `target`, in all classes."""
    carved = carve.carve_across_classes(
        ((v.class_name, v.film) for v in videos if v.split == source), fraction, seed)
    return [dataclasses.replace(v, split=target) if v.split == source and v.film in carved
            else v for v in videos]


def _finish(classes, videos, failures, unused, source) -> Plan:
    videos = sorted(videos, key=lambda v: (v.split, v.media_id, v.path))
    failures = sorted(failures, key=lambda f: (f.path, f.reason))
    return Plan(tuple(sorted(classes)), tuple(videos), tuple(failures), unused, source)


def plan_hmdb(video_files: Mapping[str, Sequence[str]], split_texts: Mapping[str, str],
              *, val_fraction: float, seed: int, official: int = 1) -> Plan:
    """Plans an HMDB51-style conversion from official split files.

    Args:
      video_files: class folder name -> paths of the video files in it.
      split_texts: class name -> content of its ``<class>_test_split<n>.txt``.
      val_fraction: share of the official train clips (all classes) moved to val,
        whole films at a time, across classes (`pipeline.carve`).
      seed: seed of the film hash.
      official: the official split (1-3) the texts are of: names the files in errors.

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
        source = f"{class_name}_test_split{official}.txt"
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
                    f"{class_name}/{name}", f"listed in {source} but no such video",
                    class_name, split))
                continue
            videos.append(PlannedVideo(path, class_name, split, film_key(name, class_name)))
    listed_names = {name for _, name in seen}
    for (folder, name), path in sorted(in_folder.items()):
        if name not in listed_names:
            failures.append(Failure(path, "video in no split file", folder, None))
    videos = _carve(videos, "train", "val", val_fraction, seed)
    return _finish(split_texts.keys(), videos, failures, unused, "hmdb51-splits")


def plan_folders(video_files: Mapping[str, Sequence[str]], *, test_fraction: float,
                 val_fraction: float, seed: int) -> Plan:
    """Plans a folder-per-class conversion: test, then val, carved across classes by film.

    Args:
      video_files: class folder name -> paths of the video files in it.
      test_fraction: share of all clips that go to test, whole films at a time.
      val_fraction: share of the clips left in train that move to val, whole films at a time.
      seed: seed of the film hash.
    """
    videos = [PlannedVideo(p, class_name, "train", film_key(posixpath.basename(p), class_name))
              for class_name, paths in video_files.items() for p in paths]
    videos = _carve(videos, "train", "test", test_fraction, seed)
    videos = _carve(videos, "train", "val", val_fraction, seed)
    return _finish(video_files.keys(), videos, [], 0, "folder-per-class")

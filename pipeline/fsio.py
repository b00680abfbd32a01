"""The few file operations `vidrec convert` needs, through Beam's FileSystems.

Local paths, ``gs://`` and any filesystem Beam knows by its scheme, with no
TensorFlow import (`pipeline.records`). Writes are atomic: a temporary name
next to the target, then a rename.
"""

from __future__ import annotations

import json
import posixpath
import uuid
from typing import Any, BinaryIO, Callable

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

RAW = CompressionTypes.UNCOMPRESSED


def exists(path: str) -> bool:
    return FileSystems.exists(path)


def size(path: str) -> int | None:
    """The size of file `path` in bytes, None when there is no such file."""
    if not FileSystems.exists(path):
        return None
    [result] = FileSystems.match([path])
    return result.metadata_list[0].size_in_bytes if result.metadata_list else None


def match(pattern: str) -> list[str]:
    """Paths matching `pattern`, sorted ([] when none)."""
    return sorted(m.path for r in FileSystems.match([pattern]) for m in r.metadata_list)


def remove(paths: list[str]) -> None:
    """Deletes the files and folders (recursively) among `paths` that exist."""
    there = [p for p in paths if FileSystems.exists(p)]
    if there:
        FileSystems.delete(there)


def remove_tree(folder: str) -> None:
    """Deletes the files in `folder`, then the folder where the filesystem has folders."""
    remove(match(f"{folder}/*"))
    try:
        if FileSystems.exists(folder):
            FileSystems.delete([folder])
    except OSError:  # an object store has no folders: nothing is left to delete
        pass


def open_read(path: str) -> BinaryIO:
    return FileSystems.open(path, compression_type=RAW)


def read_json(path: str) -> Any | None:
    """The JSON in `path`, None when there is no such file."""
    if not FileSystems.exists(path):
        return None
    with open_read(path) as f:
        return json.loads(f.read().decode("utf-8"))


def write_atomically(path: str, write: Callable[[BinaryIO], None],
                     compression: str = RAW) -> None:
    """Calls `write(f)` on a file at a temporary name next to `path`, then renames it."""
    tmp = f"{posixpath.dirname(path)}/.tmp-{uuid.uuid4().hex}-{posixpath.basename(path)}"
    with FileSystems.create(tmp, compression_type=compression) as f:
        f.write(b"")  # an empty file is a file too (some filesystems create on first write)
        write(f)
    FileSystems.rename([tmp], [path])


def write_text(path: str, text: str) -> None:
    write_atomically(path, lambda f: f.write(text.encode("utf-8")))


def write_json(path: str, payload: Any) -> None:
    """`payload` as indented JSON (as `pipeline.schema.write_json` writes it), atomically."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")


def write_lines(path: str, lines: list[str]) -> None:
    """Writes `lines`, each ended by a newline, atomically."""
    write_text(path, "".join(line + "\n" for line in lines))

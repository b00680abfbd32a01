"""The Dataflow path without Google Cloud: the job builds and serialises offline, and every
input and output path goes through a filesystem layer, never `open()`/`os.path`/OpenCV."""

import builtins
import contextlib
import glob
import hashlib
import json
import os
import posixpath
import shutil
import socket
import sys
import sysconfig
import uuid

import apache_beam as beam
import cv2
import pytest
import tensorflow as tf
from apache_beam.io.filesystem import (
    CompressedFile,
    CompressionTypes,
    FileMetadata,
    FileSystem,
)
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.utils import proto_utils

import pipeline
from pipeline import convert, dataflow, schema, synth, transforms, video

CLASSES = ("grow", "shrink", "square")
IMAGE = "us-docker.pkg.dev/my-project-123/vidrec/worker:2.77.0"
# Options that look real, so that Beam validates them offline (see PITFALLS.md).
DATAFLOW = ["--runner", "DataflowRunner", "--dry_run", "True", "--project", "my-project-123",
            "--region", "us-central1", "--temp_location", "gs://my-bucket-123/tmp"]
IN_PROCESS = ["--runner", "DirectRunner", "--direct_num_workers", "1",
              "--direct_running_mode", "in_memory"]
OUR_TRANSFORMS = {"ListShards", "ConvertShards", "ConvertShards/Spread",
                  "ConvertShards/Convert"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Synthetic HMDB51 layout plus an empty video and a split line naming no video."""
    root = str(tmp_path_factory.mktemp("synth"))
    synth.generate(synth.SynthConfig(root, clips_per_class=6, frames=8, size=32,
                                     clips_per_film=2, classes=CLASSES))
    open(f"{root}/videos/grow/Empty_grow_u_cm_np1_fr_med_0.avi", "wb").close()
    with open(f"{root}/splits/grow_test_split1.txt", "a") as f:
        f.write("Empty_grow_u_cm_np1_fr_med_0.avi 1\nGhost_grow_u_cm_np1_fr_med_0.avi 2\n")
    return root


def _convert(root, out, *extra):
    return convert.main(["--videos", f"{root}/videos", "--splits", f"{root}/splits",
                               "--split", "1", "--output", out, "--frame-size", "32", *extra])


# --------------------------------------------------------------------------- Dataflow job


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to resolve a name or open a connection fails and is recorded."""
    attempts = []

    def refuse(name):
        def refused(*args, **kwargs):
            attempts.append((name, args[1:2] if name == "connect" else args[:2]))
            raise OSError(f"network access in a test: {name}{args[1:2] or args[:2]}")
        return refused

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    return attempts


def _pipeline_fns(proto):
    """The DoFns of a pipeline proto, unpickled as a Dataflow worker would: {label: DoFn}."""
    p = beam.Pipeline.from_runner_api(proto, runner=beam.runners.DirectRunner(),
                                      options=PipelineOptions())
    fns = {}

    class Visitor(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node):
            if isinstance(getattr(node.transform, "fn", None), beam.DoFn):
                fns[node.full_label] = node.transform.fn

    p.visit(Visitor())
    return fns


@pytest.mark.timeout(60)  # a network attempt shows as retries for minutes, not a hang
def test_dataflow_job_file_is_written_offline_and_describes_our_job(
        dataset, tmp_path, capsys, no_network):
    out, job_file = str(tmp_path / "out"), str(tmp_path / "job" / "job.json")
    assert _convert(dataset, out, *DATAFLOW, "--sdk_container_image", IMAGE,
                    "--dataflow_job_file", job_file) == 0
    assert no_network == []
    assert not os.path.exists(out)  # a dry run lists the inputs and writes no output
    proto_file = dataflow.pipeline_file(job_file)
    assert f"job description: {job_file}, {proto_file}" in capsys.readouterr().out

    with open(job_file) as f:
        job = json.load(f)
    assert job["type"] == "JOB_TYPE_BATCH" and job["name"].startswith("beamapp-")
    env = job["environment"]
    assert env["version"]["job_type"] == "FNAPI_BATCH" and "use_runner_v2" in env["experiments"]
    assert env["tempStoragePrefix"].startswith("storage.googleapis.com/my-bucket-123/tmp/")
    [pool] = env["workerPools"]
    assert pool["workerHarnessContainerImage"] == IMAGE
    assert [c["containerImage"] for c in pool["sdkHarnessContainerImages"]] == [IMAGE]
    options = env["sdkPipelineOptions"]["options"]
    assert (options["project"], options["region"]) == ("my-project-123", "us-central1")
    assert options["sdk_container_image"] == IMAGE and options["pipelineUrl"] == proto_file

    with open(proto_file, "rb") as f:
        serialized = f.read()
    assert hashlib.sha256(serialized).hexdigest() == options["pipelineProtoHash"]
    proto = beam_runner_api_pb2.Pipeline.FromString(serialized)
    names = {t.unique_name for t in proto.components.transforms.values()}
    assert OUR_TRANSFORMS <= names, OUR_TRANSFORMS - names
    [docker] = [proto_utils.parse_Bytes(e.payload, beam_runner_api_pb2.DockerPayload)
                for e in proto.components.environments.values()]
    assert docker.container_image == IMAGE

    fns = _pipeline_fns(proto)  # the pickled DoFns load back with their configuration
    convert_fn = fns["ConvertShards/Convert"]
    assert isinstance(convert_fn, transforms.ConvertShardFn)
    assert convert_fn._options == video.DecodeOptions(frame_size=32, min_frames=8)
    assert (convert_fn._classes, convert_fn._out) == (CLASSES, out)
    assert convert_fn._threads == 1 and convert_fn._progress_dir is None  # one per SDK thread


def test_dry_run_is_refused_on_runners_that_would_run_the_job(dataset, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert _convert(dataset, out, "--runner", "DirectRunner", "--dry_run", "True") == 2
    assert "--dry_run needs --runner DataflowRunner" in capsys.readouterr().err
    assert not os.path.exists(out)


# --------------------------------------------------------------------------- filesystems


class RamFileSystem(FileSystem):
    """Beam's view of TensorFlow's in-memory ``ram://`` filesystem, for tests.

    Beam finds a FileSystem by its scheme among `FileSystem`'s subclasses, so
    defining the class registers it; Beam and tf.io.gfile then see the same files.
    """

    opened: list = []  # every path Beam opened for reading

    @classmethod
    def scheme(cls):
        return "ram"

    def join(self, basepath, *paths):
        return posixpath.join(basepath, *paths)

    def split(self, path):
        return posixpath.split(path)

    def has_dirs(self):
        return False  # Beam then lists by prefix, recursively, as on GCS

    def mkdirs(self, path):
        tf.io.gfile.makedirs(path)

    def _list(self, prefix):
        top = prefix if tf.io.gfile.isdir(prefix) else posixpath.dirname(prefix)
        for folder, _, files in tf.io.gfile.walk(top):
            for path in (posixpath.join(folder, name) for name in files):
                if path.startswith(prefix):
                    yield self.metadata(path)

    def _file(self, path, mode, compression_type):
        if compression_type == CompressionTypes.AUTO:
            compression_type = CompressionTypes.detect_compression_type(path)
        f = tf.io.gfile.GFile(path, mode)
        if compression_type == CompressionTypes.UNCOMPRESSED:
            return f
        return CompressedFile(f, compression_type=compression_type)

    def create(self, path, mime_type=None, compression_type=CompressionTypes.AUTO):
        return self._file(path, "wb", compression_type)

    def open(self, path, mime_type=None, compression_type=CompressionTypes.AUTO):
        self.opened.append(path)
        return self._file(path, "rb", compression_type)

    def copy(self, source_file_names, destination_file_names):
        for src, dst in zip(source_file_names, destination_file_names):
            tf.io.gfile.copy(src, dst, overwrite=True)

    def rename(self, source_file_names, destination_file_names):
        for src, dst in zip(source_file_names, destination_file_names):
            tf.io.gfile.rename(src, dst, overwrite=True)

    def exists(self, path):
        return tf.io.gfile.exists(path)

    def size(self, path):
        return tf.io.gfile.stat(path).length

    def last_updated(self, path):
        return tf.io.gfile.stat(path).mtime_nsec / 1e9

    def checksum(self, path):
        return str(self.size(path))

    def metadata(self, path):
        return FileMetadata(path, self.size(path), self.last_updated(path))

    def delete(self, paths):
        for path in paths:
            (tf.io.gfile.rmtree if tf.io.gfile.isdir(path) else tf.io.gfile.remove)(path)


def test_beam_finds_the_ram_filesystem_by_its_scheme():
    assert isinstance(FileSystems.get_filesystem("ram://x/y.avi"), RamFileSystem)


_DIRECT_IO = [(builtins, "open"), (cv2, "VideoCapture"), (cv2, "VideoWriter"),
              (cv2, "imread"), (glob, "glob"), (glob, "iglob")]
_DIRECT_IO += [(os, n) for n in ("open", "stat", "lstat", "listdir", "scandir", "walk",
                                 "makedirs", "mkdir", "remove", "unlink", "rename", "replace",
                                 "rmdir")]
_DIRECT_IO += [(os.path, n) for n in ("exists", "lexists", "isfile", "isdir", "islink",
                                      "getsize", "getmtime", "abspath", "realpath")]
_DIRECT_IO += [(shutil, n) for n in ("copy", "copy2", "copyfile", "copytree", "move", "rmtree")]
_PIPELINE_DIR = os.path.dirname(pipeline.__file__) + os.sep
_STDLIB_DIR = sysconfig.get_paths()["stdlib"] + os.sep
_SITE_DIRS = tuple({sysconfig.get_paths()[k] + os.sep for k in ("purelib", "platlib")})


def _in_stdlib(name: str) -> bool:
    return name.startswith("<frozen ") or (
        name.startswith(_STDLIB_DIR) and not name.startswith(_SITE_DIRS))


def _asked_by_pipeline(frame) -> bool:
    """Whether the nearest caller outside the standard library is `pipeline/` code.

    `pipeline -> shutil.copy -> open` counts; `pipeline -> FileSystems.open ->
    LocalFileSystem -> open` does not: a filesystem layer (Beam, TF) did the I/O.
    """
    while frame is not None:
        name = frame.f_code.co_filename
        if not (_in_stdlib(name) or name == __file__):
            return name.startswith(_PIPELINE_DIR)
        frame = frame.f_back
    return False


@contextlib.contextmanager
def _no_direct_io(monkeypatch, roots):
    """Records `pipeline/` code calling open(), os.*, os.path.*, shutil, glob or OpenCV on a
    path under `roots`. Recorded, not only raised: the pipeline records and skips a video
    whose decoding raises."""
    calls = []

    def guard(name, real):
        def guarded(*args, **kwargs):
            paths = [str(a) for a in (*args, *kwargs.values()) if isinstance(a, (str, os.PathLike))]
            hit = [p for p in paths if any(p.startswith(r) for r in roots)]
            if hit and _asked_by_pipeline(sys._getframe(1)):
                calls.append(f"{name}({hit[0]!r})")
                raise AssertionError(f"direct I/O on a pipeline path: {name}({hit[0]!r})")
            return real(*args, **kwargs)
        return guarded

    with monkeypatch.context() as m:
        for module, name in _DIRECT_IO:
            m.setattr(module, name, guard(f"{module.__name__}.{name}", getattr(module, name)))
        yield calls


def _copy_to_ram(local_root, ram_root):
    for folder, _, files in os.walk(local_root):
        rel = os.path.relpath(folder, local_root)
        dst = ram_root if rel == "." else f"{ram_root}/{rel}"
        tf.io.gfile.makedirs(dst)
        for name in files:
            tf.io.gfile.copy(os.path.join(folder, name), f"{dst}/{name}")


def _read(path, mode="r"):
    with tf.io.gfile.GFile(path, mode) as f:
        return f.read()


def _shards(out):
    """{shard file name: [SequenceExample]} of a conversion, read with tf.io.gfile."""
    names = sorted(posixpath.basename(p) for p in tf.io.gfile.glob(f"{out}/*-of-*.tfrecord"))
    return {n: [tf.train.SequenceExample.FromString(r.numpy())
                for r in tf.data.TFRecordDataset(f"{out}/{n}")] for n in names}


def test_every_input_and_output_path_goes_through_a_filesystem(dataset, tmp_path, monkeypatch):
    local_out = str(tmp_path / "out")
    roots = [f"{dataset}/", local_out]
    with _no_direct_io(monkeypatch, roots) as calls:
        assert _convert(dataset, local_out, *IN_PROCESS, "--max-failed", "0.5") == 0
    assert calls == []

    ram = f"ram://vidrec-{uuid.uuid4().hex}"
    _copy_to_ram(dataset, f"{ram}/data")
    RamFileSystem.opened.clear()
    with _no_direct_io(monkeypatch, ["ram://"]) as calls:
        assert _convert(f"{ram}/data", f"{ram}/out", *IN_PROCESS, "--max-failed", "0.5") == 0
    assert calls == []
    opened = set(RamFileSystem.opened)  # read through Beam: the split files, every video
    assert set(tf.io.gfile.glob(f"{ram}/data/splits/*_test_split1.txt")) <= opened
    assert len(opened & set(tf.io.gfile.glob(f"{ram}/data/videos/*/*.avi"))) == 15 + 1  # + empty

    names = sorted(tf.io.gfile.listdir(f"{ram}/out"))
    assert names == sorted(os.listdir(local_out))
    assert {schema.MANIFEST_NAME, schema.FAILURES_NAME, schema.LABEL_MAP_NAME} <= set(names)

    def localised(text):
        return text.replace(f"{ram}/data/", f"{dataset}/")

    failures = _read(f"{ram}/out/{schema.FAILURES_NAME}")
    assert len(failures.splitlines()) == 2 and "empty file (0 bytes)" in failures
    assert (sorted(localised(failures).splitlines())
            == sorted(_read(f"{local_out}/{schema.FAILURES_NAME}").splitlines()))
    manifests = schema.read_manifest(f"{ram}/out"), schema.read_manifest(local_out)
    for key in ("classes", "splits", "totals"):
        assert manifests[0][key] == manifests[1][key]
    assert manifests[0]["totals"] == {"listed": 17, "written": 15, "failed": 2, "unused": 3}

    ram_shards, local_shards = _shards(f"{ram}/out"), _shards(local_out)
    assert list(ram_shards) == list(local_shards) and len(ram_shards) > 3
    for name, records in ram_shards.items():
        for record in records:  # the source path is the only difference
            path = record.context.feature[schema.SOURCE_PATH_KEY].bytes_list.value
            assert path[0].decode().startswith(f"{ram}/data/videos/")
            path[0] = localised(path[0].decode()).encode()
        assert records == local_shards[name]
    tf.io.gfile.rmtree(ram)

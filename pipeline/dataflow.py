"""Dataflow dry runs: the job description Beam would submit, written without network access.

``--runner DataflowRunner --dry_run True`` builds and validates the whole job
and stops before staging and submitting it, so Beam never writes
``--dataflow_job_file`` in a dry run. `write_job_description` writes it from
the built job with Beam's own classes, minus what needs Google Cloud:

    JOB_FILE                  the Dataflow job (v1b3 JSON): environment, worker pools
                              with the SDK container image, the pipeline options
    <JOB_FILE stem>.pipeline.pb   the Beam pipeline proto Dataflow runs (staged as
                              ``pipeline.pb`` on submission); ``pipelineUrl`` and
                              ``pipelineProtoHash`` in the job point to it

Nothing is staged, so the job lists no packages. Needs ``apache-beam[gcp]``.
"""

from __future__ import annotations

import hashlib
import posixpath

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DebugOptions, WorkerOptions

from vidrec.core import compat


def pipeline_file(job_file: str) -> str:
    """``.../job.json`` -> ``.../job.pipeline.pb``: where the job's pipeline proto is written."""
    return f"{posixpath.splitext(job_file)[0]}.pipeline.pb"


def _write(path: str, data: bytes) -> None:
    with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        f.write(data)


def write_job_description(job, path: str | None = None) -> list[str]:
    """Writes a dry run's job (`PipelineResult.job`) and its pipeline proto; returns their paths.

    Args:
      job: the ``apiclient.Job`` a DataflowRunner dry run leaves on its result.
      path: the job file, by default the job's ``--dataflow_job_file``.
    """
    path = path or job.options.view_as(DebugOptions).dataflow_job_file
    overrides = job.options.view_as(WorkerOptions).sdk_harness_container_image_overrides or []
    # The same steps as DataflowApplicationClient.create_job_description, without
    # its uploads: container image overrides, then the environment around the proto.
    compat.apply_sdk_environment_overrides(job, dict(s.split(",", 1) for s in overrides))
    serialized = job.proto_pipeline.SerializeToString()
    proto_path = pipeline_file(path)
    job.proto.environment = compat.dataflow_environment(
        job, proto_path, hashlib.sha256(serialized).hexdigest())
    _write(proto_path, serialized)
    _write(path, job.json().encode("utf-8"))
    return [path, proto_path]

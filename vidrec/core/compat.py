"""Every use of a library's private API, in one place, each with why and the upstream issue.

The versions these were checked against are pinned in pyproject.toml (Keras to its
minor version); a Keras or Beam upgrade starts by re-reading this module and
running the tests that exercise each entry (named below).

Keras and Beam are imported inside the functions, so importing this module costs
nothing (the Beam workers and `vidrec --help` never pay for Keras).
"""

from __future__ import annotations

from typing import Any

# --------------------------------------------------------------------------- Keras 3.15


def initial_epoch(model: Any) -> int:
    """The epoch `BackupAndRestore` resumes at, after its `on_train_begin`.

    `model.fit` fails under MultiWorkerMirroredStrategy (keras-team/keras #20585), so
    `trainer.loop` drives the callbacks itself and must read where the restored run
    resumes: BackupAndRestore leaves it in the private `model._initial_epoch`, which
    `fit` reads. (tests/test_trainer_multiworker.py: a killed cluster run resumes.)
    """
    return getattr(model, "_initial_epoch", None) or 0


def reset_initial_epoch(model: Any) -> None:
    """Clears `model._initial_epoch` (before a run, and after it, as `fit` does)."""
    model._initial_epoch = None


def read_only_backup(backup_dir: str) -> Any:
    """A `BackupAndRestore` that resumes from `backup_dir` but never writes or deletes it.

    For the non-chief workers of a cluster: only the chief owns the run folder. Keras
    has no option for it, so the private `_save_model` (and `on_train_end`, which
    deletes the backup) are overridden. (tests/test_trainer_multiworker.py: only the chief
    writes.)
    """
    import keras

    class ReadOnlyBackup(keras.callbacks.BackupAndRestore):
        def _save_model(self):
            pass

        def on_train_end(self, logs=None):
            pass

    return ReadOnlyBackup(backup_dir)


# --------------------------------------------------------------------------- TensorFlow 2.21


def disable_op_determinism() -> None:
    """Turns TensorFlow's op determinism off again.

    TensorFlow has only `enable_op_determinism`; a process that trains several runs
    (the demo, a tuning search, the tests) must be able to train a `--no-deterministic`
    run after a deterministic one, so the private switch it flips is flipped back.
    (tests/test_trainer_determinism.py: the setting follows each run's config.)
    """
    from tensorflow.python.util import _pywrap_determinism

    _pywrap_determinism.enable(False)


# --------------------------------------------------------------------------- Apache Beam 2.77


def apply_sdk_environment_overrides(job: Any, overrides: dict[str, str]) -> None:
    """Applies `--sdk_harness_container_image_overrides` to a dry run's pipeline proto.

    Beam writes no `--dataflow_job_file` in a `--dry_run` (it stops before staging),
    so `pipeline.dataflow` builds the job description the way the private
    `DataflowApplicationClient.create_job_description` does, without its uploads.
    Needs apache-beam[gcp]. (tests/test_pipeline_dataflow.py: the offline dry run.)
    """
    from apache_beam.runners.dataflow.internal import apiclient

    apiclient.DataflowApplicationClient._apply_sdk_environment_overrides(
        job.proto_pipeline, overrides, job.options)


def dataflow_environment(job: Any, proto_url: str, proto_hash: str) -> Any:
    """The Dataflow `environment` of a dry run's job, its pipeline proto at `proto_url`.

    Uses the private `apiclient._FNAPI_ENVIRONMENT_MAJOR_VERSION`, as Beam's own
    job submission does (see `apply_sdk_environment_overrides`).
    """
    from apache_beam.runners.dataflow.internal import apiclient

    return apiclient.Environment(
        packages=[], options=job.options,
        environment_version=apiclient._FNAPI_ENVIRONMENT_MAJOR_VERSION,
        proto_pipeline_staged_url=proto_url, proto_pipeline=job.proto_pipeline,
        pipeline_proto_hash=proto_hash).proto

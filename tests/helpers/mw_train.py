"""One worker of the loopback multi-worker training test (TF_CONFIG comes from the parent).

Usage: python mw_train.py DATA OUT WEIGHTS_NPZ [--crash-after-epoch N] [vidrec train flags]

Trains through `trainer.train.train` with the project's own `vidrec train` flags and
saves this worker's final weights to WEIGHTS_NPZ so the test can compare workers.
`--crash-after-epoch N` kills the worker at the end of epoch N (after the chief's
backup was written), to test resuming. A non-chief worker refuses every write under
the parent of OUT (the run folder and the TensorBoard root beside it): the
PermissionError it raises fails the test.
"""

import builtins
import os
import sys
import zipfile

import h5py
import keras
import numpy as np
import tensorflow as tf

from trainer import cli, distribute, train


class SaveWeights(keras.callbacks.Callback):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_train_end(self, logs=None):
        np.savez(self.path, *[np.asarray(w) for w in self.model.get_weights()])


class CrashAfter(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            print(f"crashing after epoch {self.epoch}", flush=True)
            os._exit(3)


def forbid_writes_under(root):
    """Patches the write paths of Python, TensorFlow, h5py and zipfile to refuse `root`."""
    root = os.path.abspath(root)

    def check(path, what):
        path = os.fspath(path) if not isinstance(path, int) else ""
        if path and os.path.abspath(path).startswith(root):
            raise PermissionError(f"non-chief worker tried to {what} {path}")

    def guard(fn, what, writes=lambda *a, **k: True, arg=0):
        def wrapper(*args, **kwargs):
            target = args[arg] if len(args) > arg else next(iter(kwargs.values()), "")
            if writes(*args, **kwargs):
                check(target, what)
            return fn(*args, **kwargs)
        return wrapper

    def mode_writes(pos, default="r"):
        def writes(*args, **kwargs):
            mode = kwargs.get("mode", args[pos] if len(args) > pos else default)
            return any(c in str(mode) for c in "wax+")
        return writes

    builtins.open = guard(builtins.open, "open for writing", mode_writes(1))
    os.makedirs = guard(os.makedirs, "create a folder")
    os.mkdir = guard(os.mkdir, "create a folder")
    for name in ("makedirs", "remove", "rmtree"):
        setattr(tf.io.gfile, name, guard(getattr(tf.io.gfile, name), name))
    tf.io.gfile.copy = guard(tf.io.gfile.copy, "copy to", arg=1)
    tf.io.gfile.rename = guard(tf.io.gfile.rename, "rename to", arg=1)
    gfile_init = tf.io.gfile.GFile.__init__
    tf.io.gfile.GFile.__init__ = guard(gfile_init, "write", mode_writes(2), arg=1)
    h5_init = h5py.File.__init__
    h5py.File.__init__ = guard(h5_init, "write", mode_writes(2), arg=1)
    zip_init = zipfile.ZipFile.__init__
    zipfile.ZipFile.__init__ = guard(zip_init, "write", mode_writes(2), arg=1)
    tf.summary.create_file_writer = guard(tf.summary.create_file_writer, "log to")


def main(argv):
    data, out, weights, *rest = argv
    callbacks = [SaveWeights(weights)]
    if rest[:1] == ["--crash-after-epoch"]:
        callbacks.append(CrashAfter(int(rest[1])))
        rest = rest[2:]
    if not distribute.is_chief():
        forbid_writes_under(os.path.dirname(out.rstrip("/")))
    args = cli.build_train_parser().parse_args(["--data", data, "--out", out, *rest])
    summary = train.train(cli.config_from_args(args), extra_callbacks=callbacks)
    print("summary", summary, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

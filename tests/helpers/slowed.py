"""`python slowed.py STEP SECONDS ARGV...`: `vidrec ARGV` with a pause at each STEP.

STEP is ``epoch`` (after each epoch's backup is saved), ``trial`` (before each tuning
trial trains) or ``shard`` (after each embedded shard): the pause gives
tests/test_reliability_faults.py a window to kill -9 the process after some progress.
"""

import sys
import time


def main() -> int:
    step, seconds, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]

    def pause(owner, name, before=False):
        real = getattr(owner, name)

        def slowed(*args, **kwargs):
            if before:
                time.sleep(seconds)
            result = real(*args, **kwargs)
            if not before:
                time.sleep(seconds)
            return result

        setattr(owner, name, slowed)

    if step == "epoch":
        import keras

        pause(keras.callbacks.BackupAndRestore, "on_epoch_end")
    elif step == "trial":
        from tuning import hypermodel

        pause(hypermodel.TemporalHyperModel, "fit", before=True)
    elif step == "shard":
        from trainer import embed

        pause(embed, "_embed_shard")
    else:
        raise SystemExit(f"unknown step {step!r}")
    from vidrec.cli import main as vidrec

    return vidrec(argv)


if __name__ == "__main__":
    sys.exit(main())


def run_killed(step: str, seconds: float, argv: list[str], progressed, timeout: float = 240):
    """Starts `vidrec ARGV` slowed at STEP, kill -9s it once `progressed()` is true.

    Returns the output the killed process printed. Fails when it ended first.
    """
    import os
    import signal
    import subprocess
    import tempfile

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), step, str(seconds),
                                 *argv], cwd=root, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        try:
            while not progressed():
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise AssertionError(f"`vidrec {' '.join(argv)}` ended (or hung) before "
                                         f"it could be killed:\n{log.read()[-3000:]}")
                time.sleep(0.1)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
        log.seek(0)
        return log.read()

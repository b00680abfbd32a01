"""A study worker that runs no vidrec command: it records each step's argv and writes the
folder the step would write. Started by the study's runner when a test sets
`vidrec.study.worker.MODULE` to this module (with tests/helpers on PYTHONPATH).

A step fails (exit 1) when one of its words contains FAIL_WORD; a step sleeps
SLEEP_S seconds (env FAKE_STUDY_SLEEP) so that tests can see jobs overlap.
"""

import json
import os
import sys
import time

from vidrec.study import worker

FAIL_WORD = "broken"


def _fake_step(argv):
    out = argv[argv.index("--out") + 1] if "--out" in argv else (
        argv[argv.index("--output") + 1] if "--output" in argv else None)
    root = os.environ["FAKE_STUDY_CALLS"]
    with open(root, "a") as f:
        f.write(json.dumps({"argv": argv, "pid": os.getpid(), "start": time.time()}) + "\n")
    time.sleep(float(os.environ.get("FAKE_STUDY_SLEEP", "0")))
    if any(FAIL_WORD in w for w in argv):
        print(f"vidrec {argv[0]}: error: {FAIL_WORD} on purpose", file=sys.stderr)
        return 1
    if out and argv[0] != "synth":
        os.makedirs(out, exist_ok=True)
        if argv[0] == "compare":
            with open(f"{out}/report.md", "w") as f:
                f.write("# report\n" + " ".join(argv) + "\n")
        if argv[0] == "train":
            with open(f"{out}/train_summary.json", "w") as f:
                json.dump({"val_video_top1": 0.5}, f)
    return 0


worker._run_step = _fake_step

if __name__ == "__main__":
    sys.exit(worker.main())

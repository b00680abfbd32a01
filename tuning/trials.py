"""The trials of a search as a table: best first, printed and written to OUT/trials.csv."""

from __future__ import annotations

import csv
import io
from typing import Any

import keras_tuner
import tensorflow as tf

from tuning.space import HYPERPARAMETERS


def trial_rows(tuner: keras_tuner.Tuner) -> list[dict[str, Any]]:
    """One row per trial, best first: id, status, score, values, failure reason."""
    rows = []
    for trial in tuner.oracle.trials.values():
        values = trial.hyperparameters.values
        reason = ""
        if trial.message:
            lines = [ln for ln in str(trial.message).strip().splitlines() if ln.strip()]
            reason = lines[-1] if lines else ""
        rows.append({"trial": trial.trial_id, "status": trial.status, "score": trial.score,
                     **{k: values.get(k) for k in HYPERPARAMETERS}, "reason": reason})
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0.0), r["trial"]))
    return rows


def format_table(rows: list[dict[str, Any]], limit: int = 10) -> str:
    """A fixed-width text table of the best `limit` trials."""
    head = ("trial", "status", "score") + HYPERPARAMETERS
    def cell(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return "-" if v is None else str(v)
    body = [[cell(r[k]) for k in head] for r in rows[:limit]]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(lines)


def write_csv(rows: list[dict[str, Any]], path: str) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["trial", "status", "score", *HYPERPARAMETERS,
                                             "reason"])
    writer.writeheader()
    writer.writerows(rows)
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(buf.getvalue())

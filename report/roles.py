"""Which runs the headline names, and what differs between the runs compared.

Roles never read the test split: the user names them (`--baseline`,
`--candidate`), or they are the runs with the best VALIDATION video accuracy
recorded at training time (train_summary.json / the eval file's
``val_video_top1``): the candidate is the best recurrent run, the baseline the
best frame run (else pooled), the pooled control the best pooled run.

Differences come from each run's recipe (written by the trainer): its temporal
part may differ between runs, that is the comparison; any other difference
(encoder regime, augmentation, budget, optimiser, seed) is a confound.
"""

from __future__ import annotations

import posixpath
from typing import Any, Callable, Mapping, Sequence

from report.runs import Run

CHOSEN_BY_VAL = "validation video accuracy recorded at training time"
CHOSEN_BY_USER = "named with --baseline / --candidate"


def find_run(runs: Sequence[Run], key: str, flag: str) -> Run:
    """The run whose display name, run dir or run dir basename is `key`.

    Raises:
      ValueError: no such run, naming the choices.
    """
    key = key.rstrip("/")
    for run in runs:
        if key in (run.name, run.run_dir, posixpath.basename(run.run_dir)):
            return run
    raise ValueError(f"{flag} {key!r} is none of the runs compared: "
                     f"{', '.join(r.name for r in runs)}")


def _best_by(score: Callable[[Run], float | None], pool: Sequence[Run], role: str) -> Run | None:
    """The run of `pool` with the highest score (first on ties); None for an empty pool."""
    if len(pool) <= 1:
        return pool[0] if pool else None
    missing = [r.name for r in pool if score(r) is None]
    if missing:
        raise ValueError(f"cannot pick the {role} without reading test: {missing[0]} has no "
                         "validation video accuracy recorded at training time (retrain it with "
                         "this vidrec), or name the runs with --baseline and --candidate")
    return max(pool, key=lambda r: score(r))


def choose_roles(runs: Sequence[Run], baseline: str | None = None,
                 candidate: str | None = None,
                 score: Callable[[Run], float | None] | None = None) -> dict[str, Any]:
    """The headline's runs, chosen by the user or by validation accuracy, never by test.

    Args:
      runs: the runs of one split (display names unique).
      baseline, candidate: names (or run dirs) the user gave, or None.
      score: the validation score to rank by (default `Run.val_video_top1`; across
        splits, the mean over splits).

    Returns:
      {"candidate", "baseline", "pooled": display names or None, "chosen_by": text,
      "val_video_top1": {name: value}}.
    """
    score = score or (lambda r: r.val_video_top1)
    by_model = {m: [r for r in runs if r.model == m] for m in ("frame", "pooled", "recurrent")}
    cand = find_run(runs, candidate, "--candidate") if candidate else None
    base = find_run(runs, baseline, "--baseline") if baseline else None
    if cand is None:
        cand = _best_by(score, by_model["recurrent"], "recurrent candidate")
    if base is None:
        others = [r for r in runs if r is not cand]
        base = (_best_by(score, [r for r in by_model["frame"] if r is not cand], "baseline")
                or _best_by(score, [r for r in by_model["pooled"] if r is not cand], "baseline"))
        if cand is None:  # no recurrent run: the best other run by validation vs the baseline
            cand = _best_by(score, [r for r in others if r is not base], "candidate")
    if cand is not None and base is cand:
        raise ValueError(f"--baseline and --candidate name the same run {cand.name!r}")
    pooled = _best_by(score, [r for r in by_model["pooled"] if r not in (cand, base)],
                      "pooled control")
    if base is not None and base.model == "pooled":
        pooled = None  # the baseline is the pooled control
    return {"candidate": cand.name if cand else None, "baseline": base.name if base else None,
            "pooled": pooled.name if pooled else None,
            "chosen_by": CHOSEN_BY_USER if (baseline or candidate) else CHOSEN_BY_VAL,
            "val_video_top1": {r.name: score(r) for r in runs}}


def differences(recipes: Mapping[str, Mapping[str, Mapping[str, Any]] | None]
                ) -> tuple[list[dict[str, Any]], list[str]]:
    """Every recipe field whose value is not the same in all runs.

    Args:
      recipes: run name -> {"temporal": {...}, "shared": {...}} (None: not recorded).

    Returns:
      (rows, confounds): rows [{"field", "part": "temporal" | "shared", "values":
      {name: value or None}}] in a stable order, temporal first; confounds lists the
      shared fields that differ (plus "recipe" when a run recorded none).
    """
    temporal_fields: dict[str, None] = {}
    shared_fields: dict[str, None] = {}
    for rec in recipes.values():
        for field in (rec or {}).get("temporal", {}):
            temporal_fields[field] = None
        for field in (rec or {}).get("shared", {}):
            shared_fields[field] = None
    rows, confounds = [], []
    for part, fields in (("temporal", temporal_fields), ("shared", shared_fields)):
        for field in fields:
            if part == "shared" and field in temporal_fields:
                continue
            values = {name: ((rec or {}).get(part) or {}).get(field)
                      for name, rec in recipes.items()}
            if len({repr(v) for v in values.values()}) > 1:
                rows.append({"field": field, "part": part, "values": values})
                if part == "shared":
                    confounds.append(field)
    if any(rec is None for rec in recipes.values()) and len(recipes) > 1:
        confounds.append("recipe")
    return rows, confounds


def missing_recipes(recipes: Mapping[str, Any]) -> list[str]:
    """Names of the runs that recorded no recipe (trained by an older vidrec)."""
    return [name for name, rec in recipes.items() if rec is None]

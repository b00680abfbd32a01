"""Which runs the report's answer names, and what differs between the runs compared.

Roles never read the test split. Each role is the run with the best VALIDATION
video accuracy recorded at training time (train_summary.json / the eval file's
``val_video_top1``) among the runs of its kind (`report.kinds.ROLES`): "frame",
"pooled" (the order-blind control), "order_aware", "recurrent" and
"non_recurrent" (order-aware, not recurrent). The user may name any role with
``--role ROLE=RUN``; ``--baseline RUN`` names "frame"; ``--candidate RUN`` names
"recurrent" for a recurrent run, else "order_aware", and the run is put forward in
every other order-aware role it fits that is not named (so a recurrent candidate is
also part 2's order-aware run, as the user means it).

Differences come from each run's recipe (written by the trainer): its temporal
part may differ between runs, that is the comparison; any other difference
(encoder regime, augmentation, budget, optimiser, seed) is a confound.
"""

from __future__ import annotations

import posixpath
from typing import Any, Callable, Mapping, Sequence

from report.kinds import ROLES, with_article
from report.runs import Run

CHOSEN_BY_VAL = "validation video accuracy recorded at training time"
ALIASES = {"--baseline": "frame"}  # --candidate's role depends on its run's kind


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
        raise ValueError(f"cannot pick the {role} run without reading test: {missing[0]} has no "
                         "validation video accuracy recorded at training time (retrain it with "
                         f"this vidrec), or name the run with --role {role}=RUN")
    return max(pool, key=lambda r: score(r))


def _user_roles(runs: Sequence[Run], named: Mapping[str, str] | None, candidate: str | None,
                baseline: str | None) -> dict[str, tuple[Run, str]]:
    """Role -> (run, how the user named it) for every role the user named.

    Raises:
      ValueError: an unknown role or run, a role named twice, a run of the wrong kind.
    """
    requests = [(role, key, f"--role {role}") for role, key in (named or {}).items()]
    if baseline:
        requests.append((ALIASES["--baseline"], baseline, "--baseline"))
    if candidate:
        run = find_run(runs, candidate, "--candidate")
        requests.append(("recurrent" if run.kind.recurrent else "order_aware", candidate,
                         "--candidate"))
    out: dict[str, tuple[Run, str]] = {}
    for role, key, flag in requests:
        if role not in ROLES:
            raise ValueError(f"{flag}={key}: unknown role {role!r}; one of {', '.join(ROLES)}")
        run = find_run(runs, key, flag)
        if not ROLES[role].fits(run.kind):
            is_a = with_article(f"{run.kind.label} {run.model} run")
            raise ValueError(f"{flag} {key!r}: {run.name} is {is_a}, not "
                             f"{with_article(ROLES[role].words)}")
        if role in out:
            raise ValueError(f"{out[role][1]} and {flag} both name the {role} run")
        out[role] = (run, flag)
    return out


def choose_roles(runs: Sequence[Run], named: Mapping[str, str] | None = None,
                 candidate: str | None = None, baseline: str | None = None,
                 score: Callable[[Run], float | None] | None = None,
                 score_words: str = CHOSEN_BY_VAL) -> dict[str, Any]:
    """The runs the answer names, chosen by the user or by validation accuracy, never by test.

    Args:
      runs: the runs of one split (display names unique).
      named: role -> run name (or run dir) the user gave with --role.
      candidate, baseline: --candidate / --baseline (aliases, see the module docstring).
      score: the validation score to rank by (default `Run.val_video_top1`; across
        splits, the mean over splits), described by `score_words`.

    Returns:
      {role: display name or None for each of `kinds.ROLES`, "candidate" (the recurrent
      run, else the order-aware one), "baseline" (the frame run), "chosen_by" (text),
      "chosen_by_role": {role: text}, "val_video_top1": {name: value}}.

    Raises:
      ValueError: a bad name, a run of the wrong kind, or a role that needs validation
        accuracy a run did not record.
    """
    score = score or (lambda r: r.val_video_top1)
    user = _user_roles(runs, named, candidate, baseline)
    chosen: dict[str, Any] = {}
    how: dict[str, str] = {}
    put_forward = [run for run, flag in user.values() if flag == "--candidate"]
    for role, spec in ROLES.items():
        if role in user:
            run, how[role] = user[role][0], f"named with {user[role][1]}"
        elif put_forward and spec.fits(put_forward[0].kind):
            run, how[role] = put_forward[0], "the run named with --candidate"
        else:
            run = _best_by(score, [r for r in runs if spec.fits(r.kind)], role)
            how[role] = score_words if run else "no run of this kind"
        chosen[role] = run.name if run else None
    flags = sorted({flag for _, flag in user.values()})
    return {**chosen, "candidate": chosen["recurrent"] or chosen["order_aware"],
            "baseline": chosen["frame"],
            "chosen_by": (f"named with {', '.join(flags)}; the other roles by {score_words}"
                          if flags else score_words),
            "chosen_by_role": how, "val_video_top1": {r.name: score(r) for r in runs}}


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

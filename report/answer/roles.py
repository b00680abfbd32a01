"""Which runs the report's answer names: the roles, each filled by the run of some traits.

Roles never read the test split. Each role is the run with the best VALIDATION
video accuracy recorded at training time (train_summary.json / the eval file's
``val_video_top1``) among the runs of its traits (`ROLES`): "frame",
"pooled" (the order-blind control), "order_aware", "recurrent" and
"non_recurrent" (order-aware, not recurrent). The user may name any role with
``--role ROLE=RUN``; ``--baseline RUN`` names "frame"; ``--candidate RUN`` names
"recurrent" for a recurrent run, else "order_aware", and the run is put forward in
every other order-aware role it fits that is not named (so a recurrent candidate is
also part 2's order-aware run, as the user means it).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple, Sequence

from report.runs.traits import Traits

if TYPE_CHECKING:  # the roles' names are read before TensorFlow starts (`vidrec compare -h`)
    from report.runs.load import Run

class Role(NamedTuple):
    """A run the report's answer names: the best (by validation) run of some traits."""

    words: str  # what a run of this role is, in the report's words
    fits: Callable[[Traits], bool]


ROLES = {
    "frame": Role("frame run (one frame at a time)", lambda k: not k.takes_chunks),
    "pooled": Role("order-blind multi-frame run (pooled, or attention without positions)",
                   lambda k: k.takes_chunks and not k.order_aware),
    "order_aware": Role("order-aware run (recurrent, temporal_conv, or attention with "
                        "positions)", lambda k: k.order_aware),
    "recurrent": Role("recurrent run", lambda k: k.recurrent),
    "non_recurrent": Role("non-recurrent order-aware run (temporal_conv, or attention with "
                          "positions)", lambda k: k.order_aware and not k.recurrent),
}


def with_article(words: str) -> str:
    """"an order-aware run", "a frame run"."""
    return ("an " if words[:1] in tuple("aeiou") else "a ") + words



CHOSEN_BY_VAL = "validation video accuracy recorded at training time"
ALIASES = {"--baseline": "frame"}  # --candidate's role depends on its run's traits


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
      ValueError: an unknown role or run, a role named twice, a run of the wrong traits.
    """
    requests = [(role, key, f"--role {role}") for role, key in (named or {}).items()]
    if baseline:
        requests.append((ALIASES["--baseline"], baseline, "--baseline"))
    if candidate:
        run = find_run(runs, candidate, "--candidate")
        requests.append(("recurrent" if run.traits.recurrent else "order_aware", candidate,
                         "--candidate"))
    out: dict[str, tuple[Run, str]] = {}
    for role, key, flag in requests:
        if role not in ROLES:
            raise ValueError(f"{flag}={key}: unknown role {role!r}; one of {', '.join(ROLES)}")
        run = find_run(runs, key, flag)
        if not ROLES[role].fits(run.traits):
            is_a = with_article(f"{run.traits.label} {run.model} run")
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
      {role: display name or None for each of `ROLES`, "candidate" (the recurrent
      run, else the order-aware one), "baseline" (the frame run), "chosen_by" (text),
      "chosen_by_role": {role: text}, "val_video_top1": {name: value}}.

    Raises:
      ValueError: a bad name, a run of the wrong traits, or a role that needs validation
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
        elif put_forward and spec.fits(put_forward[0].traits):
            run, how[role] = put_forward[0], "the run named with --candidate"
        else:
            run = _best_by(score, [r for r in runs if spec.fits(r.traits)], role)
            how[role] = score_words if run else "no run of this kind"
        chosen[role] = run.name if run else None
    flags = sorted({flag for _, flag in user.values()})
    return {**chosen, "candidate": chosen["recurrent"] or chosen["order_aware"],
            "baseline": chosen["frame"],
            "chosen_by": (f"named with {', '.join(flags)}; the other roles by {score_words}"
                          if flags else score_words),
            "chosen_by_role": how, "val_video_top1": {r.name: score(r) for r in runs}}

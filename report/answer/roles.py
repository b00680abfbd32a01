"""Which runs the report's answer names: the roles, each filled by the run of some traits.

Roles never read the test split. Each role is the run with the best VALIDATION
video accuracy recorded at training time (train_summary.json / the eval file's
``val_video_top1``) among the runs of its traits (`ROLES`): "frame",
"pooled" (the order-blind control), "order_aware", "recurrent" and
"non_recurrent" (order-aware, not recurrent), all five among the late-fusion runs
only (their temporal part sees pooled per-frame vectors), so parts 1-3 choose the
same runs with or without spatial runs beside them; and, only where some run is
spatial (`SPATIAL_ROLES`, the fourth part's), "spatial" (the best spatial run:
convlstm, conv2plus1d) and "late_fusion" (the best late-fusion order-aware run: the
same pool as "order_aware"). The user may name any role with ``--role ROLE=RUN``
(naming a spatial role brings the fourth part in even without spatial runs, to be
skipped); ``--baseline RUN`` names "frame"; ``--candidate RUN`` names "spatial" for a
spatial run, "recurrent" for a recurrent run, else "order_aware", and the run is put
forward in every other order-aware role it fits that is not named (so a recurrent
candidate is also part 2's order-aware run, as the user means it).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, NamedTuple, Sequence

from report.runs.traits import Traits

if TYPE_CHECKING:  # the roles' names are read before TensorFlow starts (`vidrec compare -h`)
    from report.runs.load import Run

class Role(NamedTuple):
    """A run the report's answer names: the best (by validation) run of some traits."""

    words: str  # what a run of this role is, in the report's words
    fits: Callable[[Traits], bool]


ROLES = {
    "frame": Role("frame run (one frame at a time)",
                  lambda k: not k.takes_chunks and not k.spatial),
    "pooled": Role("order-blind multi-frame run (pooled, or attention without positions)",
                   lambda k: k.takes_chunks and not k.order_aware and not k.spatial),
    "order_aware": Role("order-aware run (recurrent, temporal_conv, or attention with "
                        "positions)", lambda k: k.order_aware and not k.spatial),
    "recurrent": Role("recurrent run", lambda k: k.recurrent and not k.spatial),
    "non_recurrent": Role("non-recurrent order-aware run (temporal_conv, or attention with "
                          "positions)",
                          lambda k: k.order_aware and not k.recurrent and not k.spatial),
    "spatial": Role("spatial run (convlstm or conv2plus1d: its temporal part sees the "
                    "encoder's feature maps)", lambda k: k.spatial),
    "late_fusion": Role("late-fusion order-aware run (recurrent, temporal_conv, or attention "
                        "with positions, over pooled per-frame vectors)",
                        lambda k: k.order_aware and not k.spatial),
}
SPATIAL_ROLES = ("spatial", "late_fusion")  # the fourth part's: only where a run is spatial


def roles_in_play(runs: Sequence[Run], named: Iterable[str] = ()) -> list[str]:
    """The roles of these runs' answer: `ROLES` less `SPATIAL_ROLES` unless a run is spatial
    or the user names (`named`) one of them."""
    spatial = any(r.traits.spatial for r in runs) or bool(set(named) & set(SPATIAL_ROLES))
    return [role for role in ROLES if spatial or role not in SPATIAL_ROLES]


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
        requests.append(("spatial" if run.traits.spatial else
                         "recurrent" if run.traits.recurrent else "order_aware", candidate,
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
      {role: display name or None for each role in play (`roles_in_play`: the spatial
      roles only where a run is spatial or named), "candidate" (the run named with
      --candidate where it is spatial, else the recurrent run, else the order-aware one,
      else the spatial one), "baseline" (the frame run), "chosen_by" (text),
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
    for role in roles_in_play(runs, user):
        spec = ROLES[role]
        if role in user:
            run, how[role] = user[role][0], f"named with {user[role][1]}"
        elif put_forward and spec.fits(put_forward[0].traits):
            run, how[role] = put_forward[0], "the run named with --candidate"
        else:
            run = _best_by(score, [r for r in runs if spec.fits(r.traits)], role)
            how[role] = score_words if run else "no run of this kind"
        chosen[role] = run.name if run else None
    flags = sorted({flag for _, flag in user.values()})
    spatial_pick = next((r.name for r in put_forward if r.traits.spatial), None)
    return {**chosen, "candidate": (spatial_pick or chosen["recurrent"] or chosen["order_aware"]
                                    or chosen.get("spatial")),
            "baseline": chosen["frame"],
            "chosen_by": (f"named with {', '.join(flags)}; the other roles by {score_words}"
                          if flags else score_words),
            "chosen_by_role": how, "val_video_top1": {r.name: score(r) for r in runs}}

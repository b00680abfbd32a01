"""Which test videos the report's pictures show: pure functions of predictions and a seed.

Three sets, each from per-video predictions on the same sorted video ids
(`report.runs.load.Predictions`):

* a run's mistakes: videos it gets wrong;
* where the temporal model changed the answer: videos the baseline gets wrong and
  the candidate right (McNemar's c of the pair), and the reverse (its b);
* order flips: videos whose prediction differs between natural and shuffled frames.

A picture shows a handful of a set: `spread` picks them with the report's seed,
round-robin over true classes in a seeded order, so no class shows twice before every
class of the set has shown once.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from report.runs.load import Predictions, Run

MISTAKES_SHOWN = 6
DISCORDANT_SHOWN = 4  # per panel
FLIPS_SHOWN = 4
TOP_BARS = 10  # classes drawn before "other"


def spread(labels: np.ndarray, candidates: Sequence[int], n: int, seed: int) -> list[int]:
    """Up to `n` of `candidates` (video indices), spread over their true classes.

    The classes are visited in a seeded order, round after round, each taking its next
    video in a seeded order: at most one video per class until every class of the
    candidates has had its turn. Same seed, same choice.

    Args:
      labels: int [N] true class of every video.
      candidates: indices into `labels` to choose from.
      n: how many to pick.
      seed: the report's --seed.
    """
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[int]] = {}
    for i in sorted(int(i) for i in candidates):
        by_class.setdefault(int(labels[i]), []).append(i)
    classes = sorted(by_class)
    queues = [[by_class[classes[j]][k] for k in rng.permutation(len(by_class[classes[j]]))]
              for j in rng.permutation(len(classes))]
    picked: list[int] = []
    for turn in range(max((len(q) for q in queues), default=0)):
        picked += [q[turn] for q in queues if turn < len(q)]
    return picked[:n]


def mistakes(p: Predictions) -> np.ndarray:
    """int [M] indices of the misclassified videos."""
    return np.flatnonzero(~p.correct)


def discordant(baseline: Predictions, candidate: Predictions) -> dict[str, np.ndarray]:
    """Videos where the two runs disagree on right and wrong, as McNemar counts them.

    Returns:
      {"c": indices the baseline gets wrong and the candidate right,
       "b": indices the baseline gets right and the candidate wrong}
      (b and c of the paired test with the baseline as run A).
    """
    if baseline.ids != candidate.ids:
        raise ValueError("discordant videos need the same videos in both runs")
    return {"c": np.flatnonzero(~baseline.correct & candidate.correct),
            "b": np.flatnonzero(baseline.correct & ~candidate.correct)}


def flips(natural: Predictions, shuffled: Predictions) -> np.ndarray:
    """int [F] indices of the videos predicted differently with shuffled frames."""
    if natural.ids != shuffled.ids:
        raise ValueError("order flips need the same videos in both evaluations")
    return np.flatnonzero(natural.predicted != shuffled.predicted)


def comparison_runs(roles: Mapping[str, Any]) -> tuple[str, str] | None:
    """(baseline, candidate): the frame run (else the pooled control) and the temporal
    candidate, as validation chose them; None without both (or when they are one run)."""
    baseline = roles.get("baseline") or roles.get("pooled")
    candidate = roles.get("candidate")
    if not baseline or not candidate or baseline == candidate:
        return None
    return baseline, candidate


def order_run(roles: Mapping[str, Any], runs: Sequence[Run]) -> Run | None:
    """The order-aware run whose shuffle flips are shown: the candidate if it has a shuffled
    evaluation, else the order-aware role's run if it has one; None otherwise."""
    by_name = {r.name: r for r in runs}
    for role in ("candidate", "order_aware"):
        run = by_name.get(roles.get(role) or "")
        if run is not None and run.traits.order_aware and "shuffled" in run.evals:
            return run
    return None


def top_classes(probabilities: np.ndarray, classes: Sequence[str], true: int,
                most: int = TOP_BARS) -> list[tuple[str, float]]:
    """The `most` likeliest classes, the true one always among them, then "other".

    Args:
      probabilities: float [K] one video's class probabilities.
      classes: K class names.
      true: the video's true class (kept in place of the last of the top ones if need be).
      most: classes drawn by name; the rest sum into "other (N classes)".

    Returns:
      [(name, probability)], likeliest first, "other" last when K > most.
    """
    order = [int(i) for i in np.argsort(-probabilities, kind="stable")]
    if len(order) <= most:
        return [(classes[i], float(probabilities[i])) for i in order]
    top = order[:most]
    if true not in top:
        top = top[:-1] + [true]
    rest = [i for i in order if i not in top]
    return ([(classes[i], float(probabilities[i])) for i in top]
            + [(f"other ({len(rest)} classes)", float(probabilities[rest].sum()))])


def describe(p: Predictions, i: int, classes: Sequence[str], top: int = 5) -> dict[str, Any]:
    """One video as the JSON beside a picture lists it: id, true, predicted, top probabilities."""
    probs = p.probabilities[i]
    known = bool(np.isfinite(probs).all())
    return {"id": p.ids[i], "film": p.films[i], "true": classes[p.labels[i]],
            "predicted": classes[p.predicted[i]],
            "probability_predicted": float(probs[p.predicted[i]]) if known else None,
            "probability_true": float(probs[p.labels[i]]) if known else None,
            "top": ([{"class": classes[j], "probability": float(probs[j])}
                     for j in np.argsort(-probs, kind="stable")[:top]] if known else [])}

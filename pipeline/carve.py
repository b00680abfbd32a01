"""Which films are held out: the split carving rule, across classes.

Pure Python. `pipeline.splits` calls it for HMDB51's val (carved from the
official train lists) and for folder-per-class data's test and val.

One source film has clips in many classes (HMDB51's
``Pirates_of_the_Caribbean_(2003)``, UCF101's ``gNN`` groups), so the carve
works across classes: a film is carved out for every class it has candidate
clips in, or for none, and no film is in train for one class and held out for
another. (In HMDB51 mode a film that the official lists put in test for one
class and in train for another keeps its test clips in test; only its train
clips can move to val.)

The rule (`carve_across_classes`), over the candidate clips (HMDB51 val:
the official train clips; folders: all clips for test, then the remaining
train clips for val):

1. Rank every candidate film by ``sha256("<seed>:<film>")`` (`hash_unit`,
   ties by name). A film is *allowed* if carving it leaves every class it is in
   with at least one candidate film not carved.
2. Target: ``ceil(fraction * candidate clips)``, clips counted over all
   classes. Go down the ranking; while fewer clips than the target are carved,
   carve each allowed film (with all its candidate clips). The last film may
   overshoot the target by its own size.
3. Go down the ranking once more and carve each allowed film that is in a
   class with no carved film yet. So every such class gets its first-ranked
   film that is still allowed; a class with two or more films goes without only
   when carving any of its films would empty another class.

``fraction <= 0`` carves nothing. The result depends only on the set of
candidate clips and the seed: deterministic, stable under re-runs and
independent of the order the files were listed in.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from typing import Iterable


def hash_unit(key: str, seed: int) -> float:
    """Deterministic hash of ``"<seed>:<key>"`` into [0, 1)."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64


def carve_across_classes(clips: Iterable[tuple[str, str]], fraction: float,
                         seed: int) -> frozenset[str]:
    """The films carved out of the candidate clips, across classes.

    See the module docstring for the rule.

    Args:
      clips: one ``(class_name, film)`` pair per candidate clip.
      fraction: share of the candidate clips to carve, in [0, 1).
      seed: seed of the film hash.

    Returns:
      The carved films; each leaves with all its candidate clips, in every class.
    """
    clips = list(clips)
    if fraction <= 0 or not clips:
        return frozenset()
    size = Counter(film for _, film in clips)
    classes_of: dict[str, set[str]] = {}
    for class_name, film in clips:
        classes_of.setdefault(film, set()).add(class_name)
    left = Counter(class_name for class_name, _ in set(clips))  # films not carved, per class
    ranking = sorted(size, key=lambda f: (hash_unit(f, seed), f))
    carved: set[str] = set()

    def allowed(film: str) -> bool:
        return film not in carved and all(left[c] > 1 for c in classes_of[film])

    def carve(film: str) -> None:
        carved.add(film)
        left.subtract(classes_of[film])

    # round() first: 0.1 * 30 is 3.0000000000000004 in floating point, not 3.
    target, done = math.ceil(round(fraction * len(clips), 9)), 0
    for film in ranking:
        if done >= target:
            break
        if allowed(film):
            carve(film)
            done += size[film]
    served = {c for film in carved for c in classes_of[film]}
    for film in ranking:
        # Allowed implies each unserved class of the film has >= 2 films.
        if classes_of[film] - served and allowed(film):
            carve(film)
            served |= classes_of[film]
    return frozenset(carved)

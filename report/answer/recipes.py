"""What differs between the runs compared, from the recipe each run recorded.

The trainer writes each run's recipe (train_summary.json, copied into its eval files):
its temporal part may differ between runs, that is the comparison; any other difference
(encoder regime, augmentation, budget, optimiser, seed) is a confound.
"""

from __future__ import annotations

from typing import Any, Mapping


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

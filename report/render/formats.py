"""How the report writes numbers and tables: one place for each format.

Accuracies are fractions in [0, 1] in summary.json and percentages in report.md.
"""

from __future__ import annotations

from typing import Any

from vidrec.core.progress import duration_in_units


def pct(x: float | None, digits: int = 1) -> str:
    """0.912 -> "91.2%"; None -> "–"."""
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def ci(m: dict[str, Any] | None, digits: int = 1) -> str:
    """{"value", "lo", "hi"} -> "91.2% [85.0–96.3]"."""
    if m is None or m.get("value") is None:
        return "–"
    if m.get("lo") is None:
        return pct(m["value"], digits)
    return f"{pct(m['value'], digits)} [{100 * m['lo']:.{digits}f}–{100 * m['hi']:.{digits}f}]"


def points(x: float, digits: int = 1) -> str:
    """Signed percentage points of a fraction: 0.287 -> "+28.7" (never "-0.0")."""
    v = round(100 * x, digits)
    return f"{v + 0.0:+.{digits}f}"


def diff_ci(t: dict[str, Any]) -> str:
    """A paired test's difference with its CI: "+40.0 [+25.0, +55.0] pts"."""
    return f"{points(t['diff'])} [{points(t['diff_lo'])}, {points(t['diff_hi'])}] pts"


def fmt_p(p: float) -> str:
    """A p-value: "p < 0.001" or "p = 0.021"."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def plus_minus(mean: float, std: float) -> str:
    """Mean ± std of fractions: "93.3 ± 5.8%"."""
    return f"{100 * mean:.1f} ± {100 * std:.1f}%"


def duration(s: float | None) -> str:
    """Seconds as "61 s", "4.5 min" or "2.1 h" (`vidrec.core.progress.duration_in_units`);
    None -> "–"."""
    return "–" if s is None else duration_in_units(s)


def count(n: int | None) -> str:
    """A parameter count as "1.23 M", "12.3 k" or "123"; None -> "–"."""
    if n is None:
        return "–"
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k" if n >= 1e3 else str(n)

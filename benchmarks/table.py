"""Result rows of the benchmarks: the row contract, floors and targets, and number formatting."""
from __future__ import annotations

import math
from typing import Any

ROW_KEYS = ("group", "case", "minigrad_ms", "torch_ms", "ratio")


def row(group: str, case: str, minigrad_ms: float | None, torch_ms: float | None,
        extra: str = "") -> dict[str, Any]:
    """One result row; ratio = minigrad_ms / torch_ms (None when either side is missing)."""
    ratio = minigrad_ms / torch_ms if minigrad_ms is not None and torch_ms else None
    return {"group": group, "case": case, "minigrad_ms": minigrad_ms, "torch_ms": torch_ms,
            "ratio": ratio, "extra": extra}


def add_check(r: dict[str, Any], metric: str, value: float | None, *, floor: float | None = None,
              ceiling: float | None = None) -> dict[str, Any]:
    """Attach a floor (value >= floor) or a target ceiling (value <= ceiling) to a row."""
    if (floor is None) == (ceiling is None):
        raise ValueError("add_check: give exactly one of floor= or ceiling=")
    bound = floor if floor is not None else ceiling
    ok = None if value is None else value >= bound if floor is not None else value <= bound
    r["check"] = {"metric": metric, "value": value, "op": ">=" if floor is not None else "<=",
                  "bound": bound, "ok": ok}
    return r


def check_rows(rows: object, module: str) -> list[dict[str, Any]]:
    """Check a module's run() result against the row contract; TypeError if it breaks it."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"{module}.run must return a list of dicts, received {type(rows).__name__}")
    for r in rows:
        missing = [k for k in ROW_KEYS if k not in r]
        if missing:
            raise TypeError(f"{module}.run returned a row without {missing}: {r}")
        for key in ("minigrad_ms", "torch_ms", "ratio"):
            if r[key] is not None and not isinstance(r[key], (int, float)):
                raise TypeError(f"{module}.run returned {key}={r[key]!r}, expected a number or None")
    return rows


def describe_check(check: dict[str, Any]) -> str:
    """'share of sgemm 0.68 >= 0.70: BELOW FLOOR' and the like."""
    value = "—" if check["value"] is None else f"{check['value']:.2f}"
    verdict = ("ok" if check["ok"] else "not measured" if check["ok"] is None
               else "BELOW FLOOR" if check["op"] == ">=" else "ABOVE TARGET")
    return f"{check['metric']} {value} (needs {check['op']} {check['bound']:.2f}): {verdict}"


def fmt_ms(value: float | None) -> str:
    """Milliseconds with 3 significant digits and no exponent; '—' for None."""
    if value is None:
        return "—"
    if value <= 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = min(9, max(0, 2 - math.floor(math.log10(value))))
    return f"{value:.{decimals}f}"


def fmt_ratio(value: float | None) -> str:
    """Ratio minigrad/torch with two decimals; '—' for None."""
    return "—" if value is None else f"{value:.2f}"

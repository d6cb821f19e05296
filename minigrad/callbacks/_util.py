"""Shared by the monitoring callbacks: which direction is better, and the opt-in verbose messages."""
from __future__ import annotations

import math
import sys
from typing import Any

_MIN_HINTS = ("loss", "error", "mse", "mae", "mape", "msle", "crossentropy", "hinge", "divergence")
_MAX_HINTS = ("acc", "auc", "precision", "recall", "f1", "fmeasure", "iou")


def resolve_mode(who: str, monitor: str, mode: str, model: Any = None) -> str:
    """'min' or 'max' for a monitored quantity; mode='auto' (checked by the callback) reads the metric's
    direction or its name."""
    if mode in ("min", "max"):
        return mode
    name = monitor.removeprefix("val_")
    for metric in getattr(model, "metrics", None) or []:  # a metric may declare its own direction
        direction = getattr(metric, "direction", None)
        if getattr(metric, "name", None) == name and direction in ("up", "down"):
            return "max" if direction == "up" else "min"
    lowered = name.lower()
    if any(h in lowered for h in _MIN_HINTS):
        return "min"
    if any(h in lowered for h in _MAX_HINTS):
        return "max"
    raise ValueError(
        f"{who}: cannot tell whether {monitor!r} should be minimized or maximized; "
        "pass mode='min' or mode='max'"
    )


def improved(mode: str, current: float, reference: float | None, min_delta: float = 0.0) -> bool:
    """current beats reference by more than min_delta in the direction of mode (None: always)."""
    if reference is None:
        return True
    if mode == "min":
        return current + min_delta < reference
    return current - min_delta > reference


def scalar(who: str, monitor: str, logs: dict[str, Any] | None) -> float | None:
    """logs[monitor] as a float, or None when absent (the caller warns)."""
    value = (logs or {}).get(monitor)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: monitored value {monitor!r} must be a scalar, received {value!r}") from None


def say(verbose: int, message: str) -> None:
    """Print a callback message only when the user asked for verbose output."""
    if verbose:
        sys.stdout.write(message + "\n")
        sys.stdout.flush()


def is_bad_number(value: Any) -> bool:
    """True for NaN or +-inf."""
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False

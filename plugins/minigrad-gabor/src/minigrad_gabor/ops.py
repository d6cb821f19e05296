"""soft_threshold: the proximal operator of t * |x|, with its own backward and input strategy."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.ops import Context, Op

__all__ = ["SoftThreshold"]


def _threshold(threshold: Any) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.integer, np.floating)):
        raise TypeError(f"soft_threshold: threshold must be a float, received {threshold!r}")
    if not (math.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"soft_threshold: threshold must be a finite float >= 0, received {threshold!r}")
    return float(threshold)


class SoftThreshold(Op):
    """y = sign(x) * max(|x| - threshold, 0); dy/dx = 1 where |x| > threshold, else 0."""

    def check(self, x: np.ndarray, *, threshold: float = 0.5) -> None:
        _threshold(threshold)
        if x.dtype.kind != "f":
            raise TypeError(f"soft_threshold: expected a float array, received dtype {x.dtype}")

    def forward(self, ctx: Context, x: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
        t = x.dtype.type(_threshold(threshold))
        keep = ~(np.abs(x) <= t)  # NaN stays NaN, as in the formula
        ctx.save(keep)  # the mask is all backward needs
        return np.where(keep, x - np.copysign(t, x), x.dtype.type(0))

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None]:
        (keep,) = ctx.saved
        return (np.where(keep, dy, dy.dtype.type(0)),)

    def reference(self, x: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
        return np.sign(x) * np.maximum(np.abs(x) - threshold, 0.0)

    def strategy(self) -> Any:
        from hypothesis import strategies as st

        from minigrad.testing.strategies import kink_free_arrays, op_inputs

        # finite differences are meaningless on the kinks at +-threshold
        return st.floats(0.0, 1.0).flatmap(
            lambda t: op_inputs(kink_free_arrays(kinks=(-t, t), margin=1e-3), threshold=st.just(t))
        )

"""ZeroMean: project weights onto zero mean (e.g. DC-free conv filters)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad.constraints import Constraint

__all__ = ["ZeroMean"]


class ZeroMean(Constraint):
    """w - mean(w over axis); axis=None means every axis but the last (one mean per output unit)."""

    def __init__(self, axis: int | Sequence[int] | None = None) -> None:
        if axis is not None and not isinstance(axis, int):
            axis = list(axis)
            if not axis or not all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
                raise TypeError(f"ZeroMean: axis must be None, an int or a list of ints, received {axis!r}")
        elif isinstance(axis, bool):
            raise TypeError(f"ZeroMean: axis must be None, an int or a list of ints, received {axis!r}")
        self.axis = axis

    def __call__(self, w: Any) -> np.ndarray:
        w = np.asarray(getattr(w, "data", w))
        axis = tuple(range(w.ndim - 1)) if self.axis is None else \
            (self.axis if isinstance(self.axis, int) else tuple(self.axis))
        axes = (axis,) if isinstance(axis, int) else axis
        if any(not -w.ndim <= a < w.ndim for a in axes):
            raise ValueError(f"ZeroMean: axis {self.axis} is out of range for a weight of shape {w.shape}")
        if w.ndim == 0:
            return np.zeros_like(w)
        return (w - w.mean(axis=axis, keepdims=True)).astype(w.dtype, copy=False)

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}

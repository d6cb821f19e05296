"""TotalVariation: a quadratic smoothness penalty on the spatial axes of conv kernels."""
from __future__ import annotations

import math
from typing import Any

from minigrad.ops import apply
from minigrad.regularizers import Regularizer
from minigrad.tensor import Tensor

__all__ = ["TotalVariation"]


class TotalVariation(Regularizer):
    """strength * sum of squared differences between neighbours along each spatial axis.

    Spatial axes are all but the last two of a conv kernel (..., in, out); a 2-D weight is treated
    as an image (both axes). Squared (not absolute) differences keep the penalty differentiable.
    """

    def __init__(self, strength: float = 0.01) -> None:
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or \
                not (math.isfinite(strength) and strength >= 0):
            raise ValueError(f"TotalVariation: strength must be a finite float >= 0, received {strength!r}")
        self.strength = float(strength)

    def __call__(self, x: Tensor) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim < 2:
            raise ValueError(f"TotalVariation: needs a weight of rank >= 2, received shape {x.shape}")
        axes = range(2) if x.ndim == 2 else range(x.ndim - 2)
        total = apply("sum", x * 0.0)  # a zero that belongs to the graph (axes of length 1 add nothing)
        for axis in axes:
            if x.shape[axis] < 2:
                continue
            ahead = tuple(slice(1, None) if a == axis else slice(None) for a in range(x.ndim))
            behind = tuple(slice(None, -1) if a == axis else slice(None) for a in range(x.ndim))
            diff = x[ahead] - x[behind]
            total = total + apply("sum", diff * diff)
        return total * self.strength

    def get_config(self) -> dict[str, Any]:
        return {"strength": self.strength}

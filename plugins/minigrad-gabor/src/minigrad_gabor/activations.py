"""mish(x) = x * tanh(softplus(x)) (Misra 2019), composed from registered ops so it needs no backward."""
from __future__ import annotations

from minigrad.ops import apply
from minigrad.tensor import Tensor

__all__ = ["mish"]


def mish(x: Tensor) -> Tensor:
    """x * tanh(softplus(x)): smooth, non-monotonic, unbounded above, bounded below (~ -0.31)."""
    return x * apply("tanh", apply("softplus", x))

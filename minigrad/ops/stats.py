"""keras.ops statistics: average, var, std, quantile, median (composed from registered ops).

quantile sorts with a differentiable gather, so its gradient goes to the one or two order
statistics each quantile interpolates between.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad._ext._tensor import apply
from minigrad.ops.arrays import moveaxis, reshape, sort, take
from minigrad.ops.core import as_array, as_tensor
from minigrad.ops.numeric import Axis, _axis
from minigrad.ops.reduce import normalize_axis
from minigrad.tensor import Tensor

__all__ = ["average", "var", "std", "quantile", "median"]

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def average(x: Any, axis: int | None = None, weights: Any = None) -> Tensor:
    """Weighted mean along axis: sum(x * w) / sum(w) (the plain mean without weights)."""
    if weights is None:
        return apply("mean", x, axis=axis)
    x, w = as_tensor(x), as_tensor(weights)
    if axis is not None and w.ndim == 1 and x.ndim > 1:  # 1-D weights along axis, as numpy.average
        w = apply("reshape", w, shape=tuple(-1 if d == axis % x.ndim else 1 for d in range(x.ndim)))
    return apply("divide", apply("sum", apply("multiply", x, w), axis=axis),
                 apply("sum", apply("broadcast_to", w, shape=np.broadcast_shapes(w.shape, x.shape)), axis=axis))


def var(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Population variance mean((x - mean(x))^2) over axis."""
    x = as_tensor(x)
    centred = apply("subtract", x, apply("mean", x, axis=_axis(axis), keepdims=True))
    return apply("mean", apply("multiply", centred, centred), axis=_axis(axis), keepdims=keepdims)


def std(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Population standard deviation sqrt(var(x)) over axis."""
    return apply("sqrt", var(x, axis=axis, keepdims=keepdims))


def quantile(x: Any, q: Any, axis: int | Sequence[int] | None = None, method: str = "linear",
             keepdims: bool = False) -> Tensor:
    """The q-th quantiles (q in [0, 1]) over axis, numpy's interpolation methods; q's axes come first."""
    if method not in _METHODS:
        raise ValueError(f"quantile: method must be one of {_METHODS}, received {method!r}")
    qs = np.asarray(as_array(q), np.float64)
    if qs.size and (qs.min() < 0 or qs.max() > 1):
        raise ValueError(f"quantile: q must lie in [0, 1], received values in [{qs.min()}, {qs.max()}]")
    x = as_tensor(x)
    axes = normalize_axis("quantile", _axis(axis), x.ndim)
    rest = [d for d in range(x.ndim) if d not in axes]
    flat = reshape(moveaxis(x, list(axes), list(range(x.ndim - len(axes), x.ndim))),
                   tuple(x.shape[d] for d in rest) + (-1,))
    ordered = sort(flat, axis=-1)
    position = qs.reshape(-1) * (ordered.shape[-1] - 1)
    low, high = np.floor(position).astype(np.int64), np.ceil(position).astype(np.int64)
    frac = {"linear": position - low, "lower": np.zeros_like(position), "higher": np.ones_like(position),
            "midpoint": np.where(high > low, 0.5, 0.0), "nearest": (np.round(position) > low).astype(np.float64)}[method]
    below, above = take(ordered, low, axis=-1), take(ordered, high, axis=-1)
    y = apply("add", below, apply("multiply", apply("subtract", above, below), frac.astype(x.dtype)))
    y = moveaxis(y, -1, 0)  # (len(q), *rest)
    if keepdims:
        y = reshape(y, (-1,) + tuple(1 if d in axes else n for d, n in enumerate(x.shape)))
    return reshape(y, qs.shape + tuple(y.shape[1:]))


def median(x: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
    """The median over axis (the mean of the two middle values for an even count)."""
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)

"""Hypothesis strategies for op and layer checks: shapes, well-conditioned float64 arrays, op inputs."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "shapes", "broadcastable_shapes", "arrays", "positive_arrays", "kink_free_arrays",
    "distinct_arrays", "op_inputs", "op_strategy",
]

ShapeLike = tuple[int, ...] | st.SearchStrategy


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy:
    """Array shapes small enough for finite differences."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(max_dims: int = 3, max_side: int = 4) -> st.SearchStrategy:
    """Pairs of shapes that numpy broadcasting accepts, including rank and size-1 mismatches."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=max_dims, max_side=max_side).map(
        lambda bs: bs.input_shapes
    )


def _shape(shape: ShapeLike) -> st.SearchStrategy:
    return shape if isinstance(shape, st.SearchStrategy) else st.just(tuple(shape))


def arrays(shape: ShapeLike = shapes(), low: float = -2.0, high: float = 2.0,
           dtype: Any = np.float64) -> st.SearchStrategy:
    """Float arrays with elements in [low, high], no NaN/inf."""
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    return _shape(shape).flatmap(lambda s: hnp.arrays(dtype, s, elements=elements))


def positive_arrays(shape: ShapeLike = shapes(), low: float = 0.2, high: float = 3.0) -> st.SearchStrategy:
    """Arrays bounded away from zero (for log, sqrt, division)."""
    return arrays(shape, low, high)


def kink_free_arrays(shape: ShapeLike = shapes(), kinks: Sequence[float] = (0.0,), margin: float = 1e-2,
                     low: float = -2.0, high: float = 2.0) -> st.SearchStrategy:
    """Arrays whose elements stay `margin` away from each kink (finite differences fail on a kink)."""
    def push(a: np.ndarray) -> np.ndarray:
        a = a.copy()
        for k in kinks:
            close = np.abs(a - k) < margin
            a[close] = np.where(a[close] >= k, k + margin, k - margin)
        return a
    return arrays(shape, low, high).map(push)


def distinct_arrays(shape: ShapeLike = shapes(), gap: float = 1e-2, low: float = -2.0,
                    high: float = 2.0) -> st.SearchStrategy:
    """Arrays with pairwise distinct elements at least `gap` apart (no ties for max/min/pooling), in
    [low, high] whenever size * gap fits there (beyond that, the largest elements pass `high`)."""
    def spread(a: np.ndarray) -> np.ndarray:
        # keep the drawn ordering but push neighbours `gap` apart, first squeezing the draw into
        # [low, high - gap * (size - 1)] so the spread ends at `high` at most (hypothesis found a loss
        # drawn at its clip bound 1.0 from high=0.9)
        order = np.argsort(a, axis=None, kind="stable")
        span = high - low - gap * (a.size - 1)
        base = np.sort(a, axis=None)
        if span >= 0 and high > low:
            base = low + (base - low) * (span / (high - low))
        out = np.empty(a.size)
        out[order] = base + gap * np.arange(a.size)
        return out.reshape(a.shape)
    return arrays(shape, low, high).map(spread)


def op_inputs(*inputs: st.SearchStrategy, **attrs: Any) -> st.SearchStrategy:
    """(inputs, attrs) pairs: each input from its strategy; attrs are strategies or plain values."""
    attr_strats = {k: v if isinstance(v, st.SearchStrategy) else st.just(v) for k, v in attrs.items()}
    return st.tuples(st.tuples(*inputs), st.fixed_dictionaries(attr_strats))


def op_strategy(name: str) -> st.SearchStrategy:
    """The registered op's own input strategy."""
    from minigrad import ops

    return ops.get(name).strategy()

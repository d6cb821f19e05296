"""Pooling ops: max/average pooling in 1-D and 2-D (Keras semantics) and global pooling.

Max pooling sends each gradient to the first maximum of its window (row-major order) on ties.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.errors import ShapeError
from minigrad.kernels import pool as P
from minigrad.ops.base import Context, Op, register, strategies, twin


class _Pool(Op):
    """Windowed pooling; attrs pool_size, strides (default: pool_size), padding, data_format."""

    rank = 2
    records = True  # max pools: the forward kernel returns (y, argmax) for the backward
    forward_kernel = staticmethod(P.max_pool2d_forward)
    backward_kernel = staticmethod(P.max_pool2d_backward)

    def check(self, x: np.ndarray, *, pool_size: Any = 2, strides: Any = None,
              padding: str = "valid", data_format: str = "channels_last") -> tuple[int, ...]:
        try:
            P.pool_geometry(self.name, x.shape, pool_size, strides, padding, data_format, self.rank)
        except ValueError as e:  # raised naming the op: only its class changes
            raise ShapeError(str(e)) from None
        return x.shape  # what the backward kernel needs beside the attrs

    def forward(self, ctx: Context, x: np.ndarray, **attrs: Any) -> np.ndarray:
        if not self.records:
            return self.forward_kernel(x, **attrs)
        # no argmax when no gradient will flow (inference): less to write, nothing to copy
        out, argmax = self.forward_kernel(x, **attrs, argmax=ctx.needs_input_grad[0])
        ctx.save(argmax)
        return out

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None]:
        if not ctx.needs_input_grad[0]:
            return (None,)
        return (self.backward_kernel(dy, *(ctx.saved or ()), ctx.plan, **ctx.attrs),)

    def strategy(self):
        st, S = strategies()
        side = st.integers(1, 3)
        sizes = st.tuples(side, side) if self.rank == 2 else side

        def build(args: tuple) -> Any:
            pool, strides, padding, data_format, n, c, extra = args
            pools = (pool,) * self.rank if isinstance(pool, int) else pool
            spatial = tuple(k + e for k, e in zip(pools, extra))  # valid padding always fits
            shape = (n, *spatial, c) if data_format == "channels_last" else (n, c, *spatial)
            # distinct values: no ties, so the max is differentiable everywhere sampled
            return S.op_inputs(S.distinct_arrays(shape), pool_size=pool, strides=strides,
                               padding=padding, data_format=data_format)

        return st.tuples(sizes, st.one_of(st.none(), sizes), st.sampled_from(["valid", "same"]),
                         st.sampled_from(["channels_last", "channels_first"]), st.integers(1, 2),
                         st.integers(1, 2), st.tuples(*[st.integers(0, 3)] * self.rank)).flatmap(build)

    def reference(self, x: np.ndarray, **attrs: Any) -> np.ndarray:
        out = twin(self.forward_kernel)(x, **attrs)
        return out[0] if self.records else out


@register("max_pool2d")
class MaxPool2D(_Pool):
    """y = max over each window of (N, H, W, C) / (N, C, H, W); dx routes dy to the first maximum."""


@register("avg_pool2d")
class AvgPool2D(_Pool):
    """y = mean over the valid (non-padded) elements of each window."""

    records = False
    forward_kernel = staticmethod(P.avg_pool2d_forward)
    backward_kernel = staticmethod(P.avg_pool2d_backward)


@register("max_pool1d")
class MaxPool1D(_Pool):
    """max_pool2d over (N, L, C) / (N, C, L) as a 1 x L image."""

    rank = 1
    forward_kernel = staticmethod(P.max_pool1d_forward)
    backward_kernel = staticmethod(P.max_pool1d_backward)


@register("avg_pool1d")
class AvgPool1D(_Pool):
    """avg_pool2d over (N, L, C) / (N, C, L) as a 1 x L image."""

    rank = 1
    records = False
    forward_kernel = staticmethod(P.avg_pool1d_forward)
    backward_kernel = staticmethod(P.avg_pool1d_backward)


class _GlobalPool(Op):
    """Pooling over every spatial position: (N, *spatial, C) / (N, C, *spatial) -> (N, C)."""

    forward_kernel = staticmethod(P.global_max_pool_forward)  # returns (y, tie weights)
    backward_kernel = staticmethod(P.global_max_pool_backward)

    def check(self, x: np.ndarray, *, data_format: str = "channels_last") -> tuple[int, ...]:
        try:
            P._global_view(self.name, x, data_format)
        except ValueError as e:
            raise ShapeError(str(e)) from None
        return x.shape

    def forward(self, ctx: Context, x: np.ndarray, *, data_format: str = "channels_last") -> np.ndarray:
        out = self.forward_kernel(x, data_format)
        if isinstance(out, tuple):
            out, weights = out
            ctx.save(weights)
        return out

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None]:
        if not ctx.needs_input_grad[0]:
            return (None,)
        fmt = ctx.attrs.get("data_format", "channels_last")
        return (self.backward_kernel(dy, *(ctx.saved or ()), ctx.plan, fmt),)

    def strategy(self):
        st, S = strategies()
        return st.sampled_from(["channels_last", "channels_first"]).flatmap(
            lambda fmt: S.op_inputs(S.distinct_arrays(S.shapes(min_dims=3, max_dims=4)), data_format=fmt))

    def reference(self, x: np.ndarray, *, data_format: str = "channels_last") -> np.ndarray:
        axes = tuple(range(1, x.ndim - 1)) if data_format == "channels_last" else tuple(range(2, x.ndim))
        return x.max(axis=axes) if self.forward_kernel is P.global_max_pool_forward else x.mean(axis=axes)


@register("global_max_pool")
class GlobalMaxPool(_GlobalPool):
    """y[n, c] = max over every spatial position (any spatial rank); tied maxima share the gradient."""


@register("global_avg_pool")
class GlobalAvgPool(_GlobalPool):
    """y[n, c] = mean over every spatial position (any spatial rank)."""

    forward_kernel = staticmethod(P.global_avg_pool_forward)
    backward_kernel = staticmethod(P.global_avg_pool_backward)

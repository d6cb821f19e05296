"""Reductions over axes: sum, mean, max, min, prod (axis=None | int | tuple, keepdims), cumsum, cumprod."""
from __future__ import annotations

import numpy as np

from minigrad.errors import ShapeError
from minigrad.ops.base import Context, Op, register, strategies

Axis = int | tuple[int, ...] | None


def normalize_axis(op: str, axis: Axis, ndim: int) -> tuple[int, ...]:
    """Axes as a sorted tuple of non-negative ints; out-of-range axes raise naming the op."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{op}: axis must be an int or tuple of ints, received {axis!r}")
        if not -ndim <= a < ndim:
            raise ShapeError(f"{op}: axis {a} is out of range for an array of rank {ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def _expand(dy: np.ndarray, axes: tuple[int, ...], keepdims: bool) -> np.ndarray:
    return dy if keepdims else np.expand_dims(dy, axes)


class _Reduce(Op):
    """A reduction over axes; check returns (axes, x.shape) for backward."""

    def check(self, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> tuple[tuple[int, ...], tuple]:
        if not isinstance(keepdims, (bool, np.bool_)):
            raise TypeError(f"{self.name}: keepdims must be True or False, received {keepdims!r}")
        return normalize_axis(self.name, axis, x.ndim), x.shape

    def strategy(self):
        st, S = strategies()
        return S.shapes(min_dims=1).flatmap(lambda s: S.op_inputs(
            self._arrays(s),
            axis=st.one_of(st.none(), st.integers(-len(s), len(s) - 1),
                           st.sets(st.integers(0, len(s) - 1), min_size=1).map(tuple)),
            keepdims=st.booleans(),
        ))

    def _arrays(self, shape):
        st, S = strategies()
        return S.arrays(shape)


@register("sum")
class Sum(_Reduce):
    """y = sum of x over axis; dx = dy broadcast back."""

    def forward(self, ctx: Context, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        return np.sum(x, axis=ctx.plan[0], keepdims=keepdims)

    def backward(self, ctx: Context, dy: np.ndarray):
        axes, shape = ctx.plan
        return (np.broadcast_to(_expand(dy, axes, ctx.attrs.get("keepdims", False)), shape),)


@register("mean")
class Mean(Sum):
    """y = mean of x over axis = sum / count; dx = Sum's dx / count."""

    def forward(self, ctx: Context, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        return np.mean(x, axis=ctx.plan[0], keepdims=keepdims)

    def backward(self, ctx: Context, dy: np.ndarray):
        axes, shape = ctx.plan
        return super().backward(ctx, dy / max(int(np.prod([shape[a] for a in axes])), 1))


class _Extreme(_Reduce):
    """Max/min over axis; tied extremes share the gradient equally."""

    fn = staticmethod(np.max)

    def check(self, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> tuple[tuple[int, ...], tuple]:
        axes, shape = super().check(x, axis=axis, keepdims=keepdims)
        if any(x.shape[a] == 0 for a in axes):
            raise ShapeError(f"{self.name}: cannot reduce over an empty axis (shape {x.shape}, axis {axis})")
        return axes, shape

    def forward(self, ctx: Context, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        y = self.fn(x, axis=ctx.plan[0], keepdims=True)
        ctx.save(x, y)
        return y if keepdims else np.squeeze(y, axis=ctx.plan[0])

    def backward(self, ctx: Context, dy: np.ndarray):
        x, y = ctx.saved
        axes = ctx.plan[0]
        mask = (x == y).astype(dy.dtype)
        mask /= mask.sum(axis=axes, keepdims=True)
        return (mask * _expand(dy, axes, ctx.attrs.get("keepdims", False)),)

    def _arrays(self, shape):
        st, S = strategies()
        return S.distinct_arrays(shape)


@register("max")
class Max(_Extreme):
    """y = max of x over axis."""

    fn = staticmethod(np.max)


@register("min")
class Min(_Extreme):
    """y = min of x over axis."""

    fn = staticmethod(np.min)


def _exclusive_products(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """For each element, the product of the other elements of its reduction group (no division,
    so zeros are handled): prefix product times suffix product along the flattened group."""
    kept = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, kept + list(axes))
    flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), x.dtype)
    before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    after = np.flip(np.cumprod(np.concatenate([ones, np.flip(flat, -1)[..., :-1]], axis=-1), axis=-1), -1)
    others = (before * after).reshape(moved.shape)
    return np.transpose(others, np.argsort(kept + list(axes)))


@register("prod")
class Prod(_Reduce):
    """y = product of x over axis; dx = dy * (product of the other elements), exact at zeros."""

    def forward(self, ctx: Context, x: np.ndarray, *, axis: Axis = None, keepdims: bool = False) -> np.ndarray:
        ctx.save(x)
        return np.prod(x, axis=ctx.plan[0], keepdims=keepdims)

    def backward(self, ctx: Context, dy: np.ndarray):
        (x,) = ctx.saved
        axes = ctx.plan[0]
        return (_exclusive_products(x, axes) * _expand(dy, axes, ctx.attrs.get("keepdims", False)),)

    def _arrays(self, shape):
        st, S = strategies()
        return S.arrays(shape, -1.5, 1.5)


@register("cumsum")
class Cumsum(Op):
    """y = running sum of x along axis (of the flattened x when axis is None); dx = reversed running sum."""

    def check(self, x: np.ndarray, *, axis: int | None = None) -> tuple[int, ...]:
        if axis is not None:
            if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
                raise TypeError(f"{self.name}: axis must be an int or None, received {axis!r}")
            normalize_axis(self.name, axis, x.ndim)
        return x.shape

    def forward(self, ctx: Context, x: np.ndarray, *, axis: int | None = None) -> np.ndarray:
        return np.cumsum(x, axis=axis)

    def backward(self, ctx: Context, dy: np.ndarray):
        axis = ctx.attrs.get("axis")
        if axis is None:
            return (np.flip(np.cumsum(np.flip(dy))).reshape(ctx.plan),)
        return (np.flip(np.cumsum(np.flip(dy, axis), axis=axis), axis),)

    def strategy(self):
        st, S = strategies()
        return S.shapes(min_dims=1).flatmap(lambda s: S.op_inputs(
            S.arrays(s), axis=st.one_of(st.none(), st.integers(-len(s), len(s) - 1))))


@register("cumprod")
class Cumprod(Cumsum):
    """y = running product of x along axis (of the flattened x when axis is None).

    dx_k = (prod_{i<k} x_i) * S_k with S_k = dy_k + x_{k+1} S_{k+1}: exact at zeros (no division)."""

    def forward(self, ctx: Context, x: np.ndarray, *, axis: int | None = None) -> np.ndarray:
        ctx.save(x)
        return np.cumprod(x, axis=axis)

    def backward(self, ctx: Context, dy: np.ndarray):
        (x,) = ctx.saved
        axis = ctx.attrs.get("axis")
        flat = x.reshape(-1) if axis is None else x
        ax = 0 if axis is None else axis % x.ndim
        xs, gs = np.moveaxis(flat, ax, 0), np.moveaxis(dy.reshape(flat.shape), ax, 0)
        before = np.concatenate([np.ones_like(xs[:1]), np.cumprod(xs, axis=0)[:-1]], axis=0)
        tail = np.empty_like(gs)
        tail[-1] = gs[-1]
        for k in range(len(xs) - 2, -1, -1):
            tail[k] = gs[k] + xs[k + 1] * tail[k + 1]
        return (np.moveaxis(before * tail, 0, ax).reshape(x.shape),)

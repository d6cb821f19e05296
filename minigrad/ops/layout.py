"""Shape and indexing: reshape, transpose, flatten, broadcast_to, concatenate, stack, getitem, pad,
slice_update, scatter."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.errors import ShapeError
from minigrad.ops.base import Context, Op, register, strategies
from minigrad.ops.reduce import normalize_axis


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _dims(op: str, shape: Any, low: int = 0) -> tuple[int, ...]:
    """A target shape (an int or a sequence of ints >= low) as Python ints, or a TypeError/ValueError
    naming the op; a shape of 2**62 bytes or more is refused before numpy tries to allocate it."""
    dims = (shape,) if _is_int(shape) else tuple(shape) if isinstance(shape, (tuple, list, np.ndarray)) else None
    if dims is None or not all(_is_int(s) for s in dims):
        raise TypeError(f"{op}: expected shape to be an int or a tuple of ints, received {shape!r}")
    dims = tuple(int(s) for s in dims)
    if any(s < low for s in dims):
        raise ValueError(f"{op}: expected shape to hold ints >= {low}, received {dims}")
    if max(dims, default=0) >= 2**62 or math.prod(abs(s) for s in dims) >= 2**59:  # 8-byte elements: 2**62 bytes
        raise ValueError(f"{op}: shape {dims} holds more elements than memory can address")
    return dims


@register("reshape")
class Reshape(Op):
    """y = x with a new shape (one -1 allowed); dx = dy reshaped back."""

    def check(self, x: np.ndarray, *, shape: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(x's shape for backward, the target shape as Python ints)."""
        dims = _dims("reshape", shape, low=-1)
        known = math.prod(s for s in dims if s != -1)  # exact: no int64 wrap-around for huge dims
        if dims.count(-1) > 1:  # _dims refused anything below -1
            raise ShapeError(f"reshape: invalid target shape {dims}: at most one -1")
        if (-1 not in dims and known != x.size) or (-1 in dims and (known == 0 or x.size % known)):
            raise ShapeError(f"reshape: cannot reshape an array of shape {x.shape} ({x.size} elements) into {dims}")
        return x.shape, dims

    def forward(self, ctx: Context, x: np.ndarray, *, shape: Any) -> np.ndarray:
        return x.reshape(ctx.plan[1])

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy.reshape(ctx.plan[0]),)

    def strategy(self):
        st, S = strategies()
        return S.shapes(min_dims=1).flatmap(lambda s: S.op_inputs(S.arrays(s), shape=(-1,) + (1,)))


@register("flatten")
class Flatten(Op):
    """y = x with the axes from start_axis on merged into one."""

    def check(self, x: np.ndarray, *, start_axis: int = 0) -> tuple[int, ...]:
        if not _is_int(start_axis) or not 0 <= start_axis <= max(x.ndim - 1, 0):
            raise ShapeError(f"flatten: start_axis {start_axis} is out of range for shape {x.shape}")
        return x.shape

    def forward(self, ctx: Context, x: np.ndarray, *, start_axis: int = 0) -> np.ndarray:
        return x.reshape(x.shape[:start_axis] + (int(np.prod(x.shape[start_axis:])),))

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy.reshape(ctx.plan),)

    def strategy(self):
        st, S = strategies()
        return S.shapes(min_dims=1).flatmap(
            lambda s: S.op_inputs(S.arrays(s), start_axis=st.integers(0, len(s) - 1)))


@register("transpose")
class Transpose(Op):
    """y = x with axes permuted (reversed when axes is None); dx = dy with the inverse permutation."""

    def check(self, x: np.ndarray, *, axes: tuple[int, ...] | None = None) -> tuple[int, ...]:
        """The permutation as non-negative ints."""
        if axes is None:
            return tuple(range(x.ndim))[::-1]
        if not isinstance(axes, (tuple, list, np.ndarray)) or len(axes) != x.ndim:
            raise ShapeError(f"transpose: axes {axes!r} are not a permutation of the {x.ndim} axes of {x.shape}")
        normalize_axis(self.name, tuple(axes), x.ndim)  # ints, in range, none repeated
        return tuple(int(a) % x.ndim for a in axes)

    def forward(self, ctx: Context, x: np.ndarray, *, axes: tuple[int, ...] | None = None) -> np.ndarray:
        return np.transpose(x, ctx.plan)

    def backward(self, ctx: Context, dy: np.ndarray):
        return (np.transpose(dy, np.argsort(ctx.plan)),)

    def strategy(self):
        st, S = strategies()
        return S.shapes().flatmap(lambda s: S.op_inputs(
            S.arrays(s), axes=st.one_of(st.none(), st.permutations(range(len(s))).map(tuple))))


class _Join(Op):
    """Joins arrays along an axis; the gradient is split back into the pieces."""

    def check(self, *xs: np.ndarray, axis: int = 0) -> None:
        if not xs:
            raise ValueError(f"{self.name}: needs at least one array")
        if not _is_int(axis):
            raise TypeError(f"{self.name}: axis must be an int, received {axis!r}")
        first = xs[0].shape
        if self._mismatch(first, first, axis):  # the pairs below check the axis only from two arrays on
            raise ShapeError(f"{self.name}: axis {axis} is out of range for arrays of shape {first}")
        for i, x in enumerate(xs[1:], 1):
            if self._mismatch(first, x.shape, axis):
                raise ShapeError(f"{self.name}: array {i} has shape {x.shape}, incompatible with array 0's {first} along axis {axis}")


@register("concatenate")
class Concatenate(_Join):
    """y = arrays joined along an existing axis."""

    @staticmethod
    def _mismatch(a: tuple, b: tuple, axis: int) -> bool:
        if len(a) != len(b) or not -len(a) <= axis < len(a):
            return True
        ax = axis % len(a)
        return any(p != q for i, (p, q) in enumerate(zip(a, b)) if i != ax)

    def check(self, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        super().check(*xs, axis=axis)
        return np.cumsum([x.shape[axis] for x in xs])[:-1]  # where backward splits dy

    def forward(self, ctx: Context, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        return np.concatenate(xs, axis=axis)

    def backward(self, ctx: Context, dy: np.ndarray):
        return tuple(np.split(dy, ctx.plan, axis=ctx.attrs.get("axis", 0)))

    def strategy(self):
        st, S = strategies()

        def pieces(shape):
            axis = len(shape) - 1
            return st.lists(st.integers(1, 3), min_size=1, max_size=3).flatmap(lambda sizes: S.op_inputs(
                *(S.arrays(shape[:-1] + (n,)) for n in sizes), axis=axis))
        return S.shapes(min_dims=1).flatmap(pieces)


@register("stack")
class Stack(_Join):
    """y = arrays of one shape stacked along a new axis."""

    @staticmethod
    def _mismatch(a: tuple, b: tuple, axis: int) -> bool:
        return a != b or not -len(a) - 1 <= axis <= len(a)

    def forward(self, ctx: Context, *xs: np.ndarray, axis: int = 0) -> np.ndarray:
        return np.stack(xs, axis=axis)

    def backward(self, ctx: Context, dy: np.ndarray):
        axis = ctx.attrs.get("axis", 0)
        return tuple(np.moveaxis(dy, axis, 0))

    def strategy(self):
        st, S = strategies()
        return st.tuples(S.shapes(max_dims=2), st.integers(1, 3)).flatmap(
            lambda sn: S.op_inputs(*(S.arrays(sn[0]) for _ in range(sn[1])), axis=0))


def _plain_index(index: Any) -> Any:
    from minigrad._ext._tensor import TensorBase

    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, TensorBase):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


@register("getitem")
class GetItem(Op):
    """y = x[index] (ints, slices, None, Ellipsis, integer or bool arrays); repeated indices add up."""

    def check(self, x: np.ndarray, *, index: Any) -> tuple[Any, tuple[int, ...]]:
        plain = _plain_index(index)
        try:  # on a zero-stride stand-in of x's shape: numpy's index rules without touching x
            np.broadcast_to(np.zeros((), bool), x.shape)[plain]
        except IndexError as e:
            raise IndexError(f"getitem: {e} (array shape {x.shape}, index {index!r})") from None
        return plain, x.shape

    def forward(self, ctx: Context, x: np.ndarray, *, index: Any) -> np.ndarray:
        y = x[ctx.plan[0]]
        return np.array(y) if not isinstance(y, np.ndarray) else y

    def backward(self, ctx: Context, dy: np.ndarray):
        index, shape = ctx.plan
        dx = np.zeros(shape, dtype=dy.dtype)
        np.add.at(dx, index, dy)
        return (dx,)

    def strategy(self):
        from hypothesis.extra import numpy as hnp

        st, S = strategies()

        def with_index(shape):
            basic = hnp.basic_indices(shape, allow_newaxis=True)
            fancy = st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=5).map(np.array)
            return S.op_inputs(S.arrays(shape), index=st.one_of(basic, fancy))
        return S.shapes(min_dims=1).flatmap(with_index)


@register("pad")
class Pad(Op):
    """y = x padded with a constant; pad_width is an int, a (before, after) pair, or one pair per axis."""

    def check(self, x: np.ndarray, *, pad_width: Any, value: float = 0.0) -> np.ndarray:
        if x.ndim == 0:
            raise ShapeError("pad: cannot pad a 0-d array")
        try:
            widths = np.broadcast_to(np.asarray(pad_width), (x.ndim, 2))
        except ValueError:
            raise ShapeError(f"pad: pad_width {pad_width!r} does not fit an array of rank {x.ndim}") from None
        if widths.dtype.kind not in "iu" or (widths < 0).any():
            raise ValueError(f"pad: pad_width must hold non-negative ints, received {pad_width!r}")
        size = math.prod(int(n) + int(a) + int(b) for n, (a, b) in zip(x.shape, widths))
        if size * x.itemsize >= 2**62:  # beyond any addressable array: numpy's own message names no op
            raise ValueError(f"pad: pad_width {pad_width!r} gives an array of {size} elements, more than "
                             "memory can address")
        if isinstance(value, (str, bytes)) or np.ndim(value) != 0:  # numpy would fill from [] or "1"
            raise TypeError(f"pad: value must be a number, received {value!r}")
        try:  # the fill must be a number x's dtype holds (numpy's assignment rule)
            np.empty((), x.dtype)[()] = value
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"pad: value must be a number an array of dtype {x.dtype} holds, received {value!r}") from None
        return widths

    def forward(self, ctx: Context, x: np.ndarray, *, pad_width: Any, value: float = 0.0) -> np.ndarray:
        return np.pad(x, ctx.plan, mode="constant", constant_values=value)

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy[tuple(slice(int(b), int(n - a)) for (b, a), n in zip(ctx.plan, dy.shape))],)

    def strategy(self):
        st, S = strategies()
        return S.shapes(min_dims=1, max_dims=3).flatmap(lambda s: S.op_inputs(
            S.arrays(s), pad_width=st.tuples(*(st.tuples(st.integers(0, 2), st.integers(0, 2)) for _ in s)),
            value=st.floats(-1, 1)))


@register("broadcast_to")
class BroadcastTo(Op):
    """y = x broadcast to shape (numpy rules); dx = dy summed back over the broadcast axes."""

    def check(self, x: np.ndarray, *, shape: Any) -> tuple[int, ...]:
        dims = _dims("broadcast_to", shape)
        try:
            fits = np.broadcast_shapes(x.shape, dims) == dims
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(f"broadcast_to: cannot broadcast an array of shape {x.shape} to {dims}")
        return dims

    def forward(self, ctx: Context, x: np.ndarray, *, shape: Any) -> np.ndarray:
        return np.broadcast_to(x, ctx.plan).copy()  # a copy: views of one element must not alias

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy,)  # the engine sums a gradient down to its input's shape (one _sum_to for every op)

    def strategy(self):
        st, S = strategies()
        return S.broadcastable_shapes().flatmap(lambda s: S.op_inputs(
            S.arrays(s[0]), shape=np.broadcast_shapes(s[0], s[1])))


def _region(op: str, shape: tuple[int, ...], start: Any, size: tuple[int, ...]) -> tuple[slice, ...]:
    start = tuple(int(s) for s in np.asarray(start).reshape(-1))
    if len(start) != len(shape) or len(size) != len(shape):
        raise ShapeError(f"{op}: expected {len(shape)} start indices and updates of rank {len(shape)}, received "
                         f"start {start} and updates of shape {size}")
    if any(s < 0 or s + n > d for s, n, d in zip(start, size, shape)):
        raise ShapeError(f"{op}: updates of shape {size} at {start} do not fit inside shape {shape}")
    return tuple(slice(s, s + n) for s, n in zip(start, size))


@register("slice_update")
class SliceUpdate(Op):
    """y = x with the block starting at start_indices replaced by updates; dx = dy outside the block,
    dupdates = dy inside it."""

    def check(self, x: np.ndarray, updates: np.ndarray, *, start_indices: Any) -> tuple[slice, ...]:
        return _region(self.name, x.shape, start_indices, updates.shape)

    def forward(self, ctx: Context, x: np.ndarray, updates: np.ndarray, *, start_indices: Any) -> np.ndarray:
        y = x.astype(np.result_type(x, updates), copy=True)
        y[ctx.plan] = updates
        return y

    def backward(self, ctx: Context, dy: np.ndarray):
        dx = dy.copy()
        dx[ctx.plan] = 0
        return dx, dy[ctx.plan]

    def strategy(self):
        st, S = strategies()

        def build(shape):
            sizes = st.tuples(*(st.integers(1, d) for d in shape))
            return sizes.flatmap(lambda size: st.tuples(*(st.integers(0, d - n) for d, n in zip(shape, size))).flatmap(
                lambda start: S.op_inputs(S.arrays(shape), S.arrays(size), start_indices=start)))
        return S.shapes(min_dims=1).flatmap(build)


@register("scatter")
class Scatter(Op):
    """y = zeros(shape) with values[i] added at indices[i] (tf.scatter_nd: duplicates add up);
    dvalues[i] = dy[indices[i]]."""

    def check(self, values: np.ndarray, *, indices: Any, shape: Any) -> tuple[tuple[int, ...], tuple[np.ndarray, ...]]:
        idx = np.asarray(indices)
        shape = _dims("scatter", shape)
        if idx.dtype.kind not in "iu" or idx.ndim < 1 or idx.shape[-1] > len(shape):
            raise ShapeError(f"scatter: indices must be integers of shape (..., k) with k <= {len(shape)}, "
                             f"received {idx.dtype} {idx.shape}")
        expected = idx.shape[:-1] + shape[idx.shape[-1]:]
        if values.shape != expected:
            raise ShapeError(f"scatter: expected values of shape {expected} for indices {idx.shape} into "
                             f"{shape}, received {values.shape}")
        if idx.size and ((idx < 0).any() or (idx >= np.asarray(shape[:idx.shape[-1]])).any()):
            raise IndexError(f"scatter: indices out of range for shape {shape}")
        return shape, tuple(np.moveaxis(idx, -1, 0))  # the shape, one index array per leading axis

    def forward(self, ctx: Context, values: np.ndarray, *, indices: Any, shape: tuple[int, ...]) -> np.ndarray:
        dims, where = ctx.plan
        y = np.zeros(dims, values.dtype)
        np.add.at(y, where, values)
        return y

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy[ctx.plan[1]],)

    def strategy(self):
        st, S = strategies()

        def build(shape_k):
            shape, k = shape_k
            k = min(k, len(shape))
            rows = st.lists(st.tuples(*(st.integers(0, d - 1) for d in shape[:k])), min_size=1, max_size=4)
            return rows.flatmap(lambda r: S.op_inputs(S.arrays((len(r),) + shape[k:]), indices=np.array(r),
                                                      shape=shape))
        return st.tuples(S.shapes(min_dims=1), st.integers(1, 2)).flatmap(build)

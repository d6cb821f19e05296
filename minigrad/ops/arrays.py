"""keras.ops names for shapes, joining and indexing tensors.

Everything differentiable here is composed from registered ops (reshape, transpose, getitem,
broadcast_to, concatenate, stack, pad), so it needs no backward of its own.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad._ext._tensor import apply, make_tensor
from minigrad.errors import ShapeError
from minigrad.ops.core import as_array, as_tensor
from minigrad.ops.reduce import normalize_axis
from minigrad.tensor import Tensor

__all__ = ["reshape", "transpose", "moveaxis", "swapaxes", "expand_dims", "squeeze", "ravel", "flatten",
           "concatenate", "stack", "split", "tile", "repeat", "broadcast_to", "take", "take_along_axis",
           "sort", "flip", "top_k", "in_top_k", "unstack", "hstack", "vstack", "roll", "diagonal", "diag",
           "slice", "slice_update", "scatter", "scatter_update", "meshgrid", "nonzero", "copy", "pad", "tril",
           "triu"]


builtin_slice = slice  # `slice` below is Keras' ops.slice


def _shape_only(x: Tensor) -> np.ndarray:
    """A zero-stride stand-in of x's shape: numpy's shape rules without touching x's memory."""
    return np.broadcast_to(np.zeros((), bool), x.shape)


def reshape(x: Any, newshape: Sequence[int] | int) -> Tensor:
    """x with a new shape (one -1 allowed)."""
    shape = (newshape,) if isinstance(newshape, (int, np.integer)) else tuple(newshape)
    return apply("reshape", x, shape=tuple(-1 if s is None else int(s) for s in shape))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """x with its axes permuted (reversed when axes is None)."""
    return apply("transpose", x, axes=None if axes is None else tuple(axes))


def _axis_list(who: str, axis: int | Sequence[int], ndim: int) -> list[int]:
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    return [normalize_axis(who, a, ndim)[0] for a in axes]


def moveaxis(x: Any, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """x with axes moved from source to destination (numpy.moveaxis)."""
    x = as_tensor(x)
    src, dst = _axis_list("moveaxis", source, x.ndim), _axis_list("moveaxis", destination, x.ndim)
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source!r} and destination {destination!r} differ in length")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return apply("transpose", x, axes=tuple(order))


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """x with two axes exchanged."""
    x = as_tensor(x)
    perm = list(range(x.ndim))
    a, b = normalize_axis("swapaxes", axis1, x.ndim)[0], normalize_axis("swapaxes", axis2, x.ndim)[0]
    perm[a], perm[b] = perm[b], perm[a]
    return apply("transpose", x, axes=tuple(perm))


def expand_dims(x: Any, axis: int | Sequence[int]) -> Tensor:
    """x with new axes of size 1 inserted at axis."""
    x = as_tensor(x)
    try:
        shape = np.expand_dims(_shape_only(x), tuple(axis) if isinstance(axis, (list, tuple)) else axis).shape
    except (ValueError, np.exceptions.AxisError) as e:
        raise ShapeError(f"expand_dims: {e} (x of shape {x.shape}, axis={axis!r})") from None
    return apply("reshape", x, shape=shape)


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Tensor:
    """x without its axes of size 1 (only those in axis, which must have size 1, when given)."""
    x = as_tensor(x)
    try:
        shape = np.squeeze(_shape_only(x), tuple(axis) if isinstance(axis, (list, tuple)) else axis).shape
    except (ValueError, np.exceptions.AxisError) as e:
        raise ShapeError(f"squeeze: {e} (x of shape {x.shape}, axis={axis!r})") from None
    return apply("reshape", x, shape=shape)


def ravel(x: Any) -> Tensor:
    """x flattened to one axis."""
    return apply("reshape", x, shape=(-1,))


def flatten(x: Any, start_axis: int = 0) -> Tensor:
    """x with the axes from start_axis on merged into one (minigrad's Tensor.flatten)."""
    return apply("flatten", x, start_axis=start_axis)


def concatenate(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """The tensors joined along an existing axis."""
    if not isinstance(xs, (list, tuple)) or not xs:
        raise TypeError(f"concatenate: expected a non-empty list of tensors, received {type(xs).__name__}")
    return apply("concatenate", *xs, axis=axis)


def stack(x: Sequence[Any], axis: int = 0) -> Tensor:
    """The tensors (of one shape) stacked along a new axis."""
    if not isinstance(x, (list, tuple)) or not x:
        raise TypeError(f"stack: expected a non-empty list of tensors, received {type(x).__name__}")
    return apply("stack", *x, axis=axis)


def split(x: Any, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """x cut along axis into equal sections (an int) or at the given indices."""
    x = as_tensor(x)
    ax = normalize_axis("split", axis, x.ndim)[0]
    n = x.shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(f"split: axis {axis} of size {n} does not divide into {indices_or_sections} "
                             f"equal sections (x of shape {x.shape})")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step))
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    lead = (builtin_slice(None),) * ax
    return [apply("getitem", x, index=lead + (builtin_slice(a, b),)) for a, b in zip(bounds, bounds[1:])]


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """x broadcast to shape (numpy rules); the gradient sums back over the broadcast axes."""
    return apply("broadcast_to", x, shape=tuple(int(s) for s in shape))


def tile(x: Any, repeats: int | Sequence[int]) -> Tensor:
    """x repeated `repeats[i]` times along axis i (numpy.tile)."""
    x = as_tensor(x)
    reps = (repeats,) if isinstance(repeats, (int, np.integer)) else tuple(int(r) for r in repeats)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: repeats must be >= 0, received {repeats!r}")
    rank = max(len(reps), x.ndim)
    reps = (1,) * (rank - len(reps)) + reps
    shape = (1,) * (rank - x.ndim) + x.shape
    interleaved = tuple(v for s in shape for v in (1, s))  # (1, s0, 1, s1, ...) -> (r0, s0, r1, s1, ...)
    y = apply("reshape", x, shape=interleaved)
    y = apply("broadcast_to", y, shape=tuple(v for r, s in zip(reps, shape) for v in (r, s)))
    return apply("reshape", y, shape=tuple(r * s for r, s in zip(reps, shape)))


def repeat(x: Any, repeats: int | Sequence[int], axis: int | None = None) -> Tensor:
    """Each element repeated `repeats` times along axis (of the flattened x when axis is None)."""
    x = as_tensor(x)
    if axis is None:
        x, axis = ravel(x), 0
    ax = normalize_axis("repeat", axis, x.ndim)[0]
    counts = np.asarray(as_array(repeats))
    try:
        index = np.repeat(np.arange(x.shape[ax]), counts)
    except ValueError as e:
        raise ValueError(f"repeat: {e} (axis {axis} of size {x.shape[ax]}, repeats={repeats!r})") from None
    return apply("getitem", x, index=(builtin_slice(None),) * ax + (index,))


def take(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    """Elements of x at indices along axis (of the flattened x when axis is None); repeated
    indices add their gradients."""
    x = as_tensor(x)
    if axis is None:
        x, axis = ravel(x), 0
    ax = normalize_axis("take", axis, x.ndim)[0]
    idx = as_array(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take: indices must be integers, received dtype {idx.dtype}")
    if idx.size and (idx.max() >= x.shape[ax] or idx.min() < -x.shape[ax]):
        raise IndexError(f"take: indices in [{idx.min()}, {idx.max()}] are out of range for axis {axis} "
                         f"of size {x.shape[ax]}")
    return apply("getitem", x, index=(builtin_slice(None),) * ax + (idx,))


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    """x[..., indices, ...] matched element by element along axis (numpy.take_along_axis)."""
    x = as_tensor(x)
    idx = as_array(indices)
    if axis is None:
        x, axis = ravel(x), 0
    if idx.ndim != x.ndim:
        raise ShapeError(f"take_along_axis: indices of rank {idx.ndim} for x of rank {x.ndim}; they must match")
    ax = normalize_axis("take_along_axis", axis, x.ndim)[0]
    grid = [idx if d == ax else np.arange(n).reshape([n if e == d else 1 for e in range(x.ndim)])
            for d, n in enumerate(x.shape)]
    return apply("getitem", x, index=tuple(grid))


def sort(x: Any, axis: int = -1) -> Tensor:
    """x sorted along axis; the gradient goes back to each element's original place."""
    x = as_tensor(x)
    return take_along_axis(x, np.argsort(x.data, axis=axis, kind="stable"), axis=axis)


def flip(x: Any, axis: int | Sequence[int] | None = None) -> Tensor:
    """x with the order of elements reversed along axis (every axis when None)."""
    x = as_tensor(x)
    axes = normalize_axis("flip", tuple(axis) if isinstance(axis, list) else axis, x.ndim)
    return apply("getitem", x, index=tuple(builtin_slice(None, None, -1) if d in axes else builtin_slice(None)
                                           for d in range(x.ndim)))


def top_k(x: Any, k: int, sorted: bool = True) -> tuple[Tensor, Tensor]:  # noqa: A002 (Keras' name)
    """(values, indices) of the k largest entries along the last axis (values differentiable)."""
    x = as_tensor(x)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= (x.shape[-1] if x.ndim else 0):
        raise ValueError(f"top_k: k must be an int in [1, {x.shape[-1] if x.ndim else 0}], received {k!r}")
    idx = np.argsort(-x.data, axis=-1, kind="stable")[..., :k]
    if not sorted:
        idx = np.sort(idx, axis=-1)
    return take_along_axis(x, idx, axis=-1), make_tensor(idx.astype(np.int32), False)


def in_top_k(targets: Any, predictions: Any, k: int) -> Tensor:
    """True where targets[i] is among the k highest predictions[i] (ties count as in)."""
    labels, scores = as_array(targets).astype(np.int64), as_array(predictions)
    target = np.take_along_axis(scores, labels[:, None], axis=-1)
    return make_tensor((scores > target).sum(axis=-1) < k, False)


def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[Tensor]:
    """The slices of x along axis, as a list."""
    x = as_tensor(x)
    ax = normalize_axis("unstack", axis, x.ndim)[0]
    if num is not None and num != x.shape[ax]:
        raise ValueError(f"unstack: num={num} but axis {axis} has size {x.shape[ax]}")
    return [apply("getitem", x, index=(builtin_slice(None),) * ax + (i,)) for i in range(x.shape[ax])]


def hstack(xs: Sequence[Any]) -> Tensor:
    """Join along the second axis (the first for 1-D tensors)."""
    return concatenate(xs, axis=1 if as_array(xs[0]).ndim > 1 else 0)


def vstack(xs: Sequence[Any]) -> Tensor:
    """Join along the first axis (1-D tensors become rows)."""
    return concatenate([reshape(x, (1, -1)) if as_array(x).ndim == 1 else x for x in xs], axis=0)


def roll(x: Any, shift: int, axis: int | None = None) -> Tensor:
    """x with elements shifted by `shift` along axis, wrapping around (the flattened x when None)."""
    x = as_tensor(x)
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), x.shape)
    ax = normalize_axis("roll", axis, x.ndim)[0]
    index = (np.arange(x.shape[ax]) - int(shift)) % max(x.shape[ax], 1)
    return apply("getitem", x, index=(builtin_slice(None),) * ax + (index,))


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The offset diagonal over axis1/axis2, moved to the last axis (numpy.diagonal)."""
    x = as_tensor(x)
    moved = moveaxis(x, (axis1, axis2), (-2, -1))
    rows, cols = moved.shape[-2:]
    i = np.arange(max(0, -offset), min(rows, cols - offset))
    return apply("getitem", moved, index=(Ellipsis, i, i + offset))


def diag(x: Any, k: int = 0) -> Tensor:
    """The k-th diagonal of a matrix, or the matrix with a vector on its k-th diagonal."""
    x = as_tensor(x)
    if x.ndim == 2:
        return diagonal(x, offset=k)
    if x.ndim != 1:
        raise ValueError(f"diag: expected a 1-D or 2-D tensor, received shape {x.shape}")
    n = x.shape[0] + abs(k)
    rows, cols = np.arange(x.shape[0]) + max(0, -k), np.arange(x.shape[0]) + max(0, k)
    picker = np.zeros((n * n, x.shape[0]), x.dtype)  # y = P x: ones where the vector lands
    picker[rows * n + cols, np.arange(x.shape[0])] = 1
    return reshape(apply("matmul", picker, x), (n, n))


def slice(inputs: Any, start_indices: Sequence[int], shape: Sequence[int]) -> Tensor:  # noqa: A001 (Keras' name)
    """inputs[start:start + shape] on every axis (a shape of -1 runs to the end)."""
    x = as_tensor(inputs)
    if len(start_indices) != x.ndim or len(shape) != x.ndim:
        raise ValueError(f"slice: expected {x.ndim} start indices and sizes, received {start_indices!r} and {shape!r}")
    index = tuple(builtin_slice(int(s), None if n == -1 else int(s) + int(n)) for s, n in zip(start_indices, shape))
    return apply("getitem", x, index=index)


def slice_update(inputs: Any, start_indices: Sequence[int], updates: Any) -> Tensor:
    """inputs with the block starting at start_indices replaced by updates (both get gradients)."""
    return apply("slice_update", inputs, updates, start_indices=tuple(int(s) for s in as_array(start_indices)))


def scatter(indices: Any, values: Any, shape: Sequence[int]) -> Tensor:
    """zeros(shape) with values[i] added at indices[i] (k leading coordinates per row)."""
    return apply("scatter", values, indices=as_array(indices), shape=tuple(int(s) for s in shape))


def scatter_update(inputs: Any, indices: Any, updates: Any) -> Tensor:
    """inputs with the entries at indices replaced by updates."""
    x, idx = as_tensor(inputs), as_array(indices)
    hit = np.zeros(x.shape, bool)
    hit[tuple(np.moveaxis(idx, -1, 0))] = True
    return apply("where", hit, scatter(idx, updates, x.shape), x)


def meshgrid(*x: Any, indexing: str = "xy") -> list[Tensor]:
    """Coordinate grids from 1-D tensors (no gradient)."""
    return [make_tensor(g, False) for g in np.meshgrid(*(as_array(v) for v in x), indexing=indexing)]


def nonzero(x: Any) -> tuple[Tensor, ...]:
    """The indices of the non-zero elements, one tensor per axis."""
    return tuple(make_tensor(i, False) for i in np.nonzero(as_array(x)))


def copy(x: Any) -> Tensor:
    """A differentiable copy of x."""
    return apply("multiply", x, 1)


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: float | None = None) -> Tensor:
    """x padded with a constant (Keras' default mode; other numpy modes are not supported)."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, received mode={mode!r}")
    return apply("pad", x, pad_width=pad_width, value=0.0 if constant_values is None else float(constant_values))


def tril(x: Any, k: int = 0) -> Tensor:
    """x with the elements above the k-th diagonal (of the last two axes) set to zero."""
    x = as_tensor(x)
    return apply("multiply", x, np.tri(x.shape[-2], x.shape[-1], k, dtype=x.dtype))


def triu(x: Any, k: int = 0) -> Tensor:
    """x with the elements below the k-th diagonal (of the last two axes) set to zero."""
    x = as_tensor(x)
    return apply("multiply", x, 1 - np.tri(x.shape[-2], x.shape[-1], k - 1, dtype=x.dtype))

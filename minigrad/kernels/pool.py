"""Validated wrappers over minigrad._ext._pool: max/average pooling (1-D, 2-D) and global pooling.

Semantics follow Keras/TensorFlow: strides default to the pool size; "valid" gives
out = floor((in - pool) / stride) + 1, "same" gives out = ceil(in / stride) with the odd padded
row/column at the bottom/right. Padded positions never take part: max pooling ignores them and
average pooling divides by the number of valid elements in each window. Max pooling returns, with
its output, int32 indices (h * W + w) of the first maximum of each window in row-major order; the
backward pass routes each gradient there, so on ties the first element gets it all (TensorFlow's
MaxPoolGrad rule). Global max pooling is a reduce_max, and like TensorFlow's reduce_max gradient
(and Tensor.max) it splits each gradient equally among tied maxima.

What a forward returns for its backward (the indices, the tie weights) is a read-only
ForwardRecord that cannot be made writeable, tagged with the call's geometry; the backward accepts
nothing else, so indices that did not come from the forward with the same arguments are refused
instead of silently losing gradient.
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple

import numpy as np

from minigrad import validation
from minigrad._ext import _pool
from minigrad._ext._parallel import num_threads
from minigrad.kernels.activation import _float_array
from minigrad.kernels.conv import conv_output_size, same_padding

__all__ = [
    "pool_geometry", "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
    "avg_pool2d_backward", "max_pool1d_forward", "max_pool1d_backward", "avg_pool1d_forward",
    "avg_pool1d_backward", "global_max_pool_forward", "global_max_pool_backward",
    "global_avg_pool_forward", "global_avg_pool_backward",
]

_FORMATS = ("channels_last", "channels_first")


class ForwardRecord(np.ndarray):
    """A read-only array that only a pooling forward creates: what its backward needs, tagged with
    the geometry of the call that made it (issue 13)."""

    geometry: Any = None

    def __array_finalize__(self, obj: Any) -> None:
        self.geometry = None  # slices and copies are not the forward's record


def _record(data: bytes, dtype: Any, shape: tuple[int, ...], geometry: Any) -> ForwardRecord:
    # backed by immutable bytes: flags.writeable can never be set back to True
    record = np.frombuffer(data, dtype).reshape(shape).view(ForwardRecord)
    record.geometry = geometry
    return record


def _check_record(op: str, name: str, record: Any, geometry: Any, source: str) -> np.ndarray:
    """The plain array of a record that the forward made for exactly this geometry."""
    if not isinstance(record, ForwardRecord) or record.flags.writeable or record.geometry is None:
        raise TypeError(f"{op}: {name} must be what {source} returned with its output (a read-only "
                        f"ForwardRecord), received {type(record).__name__}")
    if record.geometry != geometry:
        raise ValueError(f"{op}: {name} comes from {source} with different arguments ({record.geometry}); "
                         f"this backward has {geometry}")
    return np.ascontiguousarray(record.view(np.ndarray))


class PoolGeometry(NamedTuple):
    """Everything a 2-D pooling kernel needs; `view` is the (B, H, W, K) shape the kernel sees."""

    pool: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int]  # (top, left); bottom/right padding is implied by the output size
    view: tuple[int, int, int, int]
    out_view: tuple[int, int, int, int]
    out_shape: tuple[int, ...]  # in the caller's layout


def pool_geometry(op: str, shape: tuple[int, ...], pool_size: Any, strides: Any, padding: str,
                  data_format: str, rank: int = 2) -> PoolGeometry:
    """Validate pooling attrs against an input shape ((N, H, W, C) / (N, C, H, W), or the 1-D forms)."""
    if validation.plain(op, shape, pool_size, strides, padding, data_format, rank):
        return _cached_geometry(op, shape, pool_size, strides, padding, data_format, rank)
    return _geometry(op, shape, pool_size, strides, padding, data_format, rank)


def _geometry(op: str, shape: tuple[int, ...], pool_size: Any, strides: Any, padding: str,
              data_format: str, rank: int) -> PoolGeometry:
    pool = validation.int_tuple(pool_size, rank, op, "pool_size", high=2**31 - 1)
    stride = pool if strides is None else validation.int_tuple(strides, rank, op, "strides", high=2**31 - 1)
    mode = validation.choice(padding, ("valid", "same"), op, "padding", fold_case=True)
    validation.choice(data_format, _FORMATS, op, "data_format")
    if len(shape) != rank + 2:
        layout = ("(N, H, W, C)" if rank == 2 else "(N, L, C)") if data_format == "channels_last" \
            else ("(N, C, H, W)" if rank == 2 else "(N, C, L)")
        raise ValueError(f"{op}: expected input of rank {rank + 2} {layout} "
                         f"(data_format='{data_format}'), received shape {tuple(shape)}")
    n, spatial, c = ((shape[0], shape[1:-1], shape[-1]) if data_format == "channels_last"
                     else (shape[0], shape[2:], shape[1]))
    outs, pads = [], []
    for size, k, s in zip(spatial, pool, stride):
        before, after = same_padding(size, k, s, 1) if mode == "same" else (0, 0)
        outs.append(conv_output_size(size, k, s, 1, before, after))
        pads.append(before)
    if min(outs) < 1 and mode == "valid":
        raise ValueError(f"{op}: pool_size={pool} with strides={stride} and padding='valid' does not "
                         f"fit the spatial size {tuple(spatial)} (computed output size {tuple(outs)})")
    if int(np.prod(spatial)) >= 2**31:
        raise ValueError(f"{op}: spatial size {tuple(spatial)} exceeds the int32 index range")
    if rank == 1:  # a length-L signal is a 1 x L image
        pool, stride, spatial, outs, pads = (1, *pool), (1, *stride), (1, *spatial), [1, *outs], [0, *pads]
    if data_format == "channels_last":  # (N, H, W, C) as it is
        view, out_view = (n, *spatial, c), (n, *outs, c)
        out_shape = (n, *outs[-rank:], c)
    else:  # each (sample, channel) plane is an image with one channel: a free reshape
        view, out_view = (n * c, *spatial, 1), (n * c, *outs, 1)
        out_shape = (n, c, *outs[-rank:])
    return PoolGeometry(pool, stride, tuple(pads), view, out_view, out_shape)


# a training step's six pooling calls cost ~50 us each in validation; errors are not cached
_cached_geometry = functools.lru_cache(maxsize=256)(_geometry)


def _describe(x_shape: Any, g: PoolGeometry) -> str:
    """What identifies a max-pool call for its backward (the kernel's view holds the data_format)."""
    return f"x_shape={tuple(x_shape)}, pool={g.pool}, strides={g.strides}, pads={g.pads}, view={g.view}"


def _x_shape(op: str, x_shape: Any) -> tuple[int, ...]:
    """The forward input's shape a backward was given: a tuple of non-negative ints."""
    return validation.shape(x_shape, op, "x_shape (the forward input's shape)")


def _threads(size: int) -> int:
    return num_threads() if size >= 1 << 14 else 1


def _kernel_args(g: PoolGeometry) -> tuple[int, ...]:
    return (*g.pool, *g.strides, *g.pads)


def _grad_input(op: str, dy: Any, g: PoolGeometry, dtype: np.dtype | None = None) -> np.ndarray:
    dy = _float_array(op, "dy", dy)
    if dy.shape != g.out_shape or (dtype is not None and dy.dtype != dtype):
        raise ValueError(f"{op}: expected dy of shape {g.out_shape}"
                         f"{'' if dtype is None else f' and dtype {dtype}'}, "
                         f"received shape {dy.shape}, {dy.dtype}")
    return dy


def max_pool2d_forward(x: np.ndarray, pool_size: Any, strides: Any = None, padding: str = "valid",
                       data_format: str = "channels_last", *, argmax: bool = True, _rank: int = 2
                       ) -> tuple[np.ndarray, ForwardRecord | None]:
    """(y, argmax): window maxima and the int32 spatial index h * W + w of the first maximum
    (None with argmax=False: inference, nothing to route a gradient to)."""
    op = "max_pool2d" if _rank == 2 else "max_pool1d"
    x = _float_array(op, "x", x)
    g = pool_geometry(op, x.shape, pool_size, strides, padding, data_format, _rank)
    y = np.empty(g.out_shape, x.dtype)
    record = _pool.max_pool2d_forward(x.reshape(g.view), y.reshape(g.out_view), bool(argmax),
                                      *_kernel_args(g), _threads(x.size))
    return y, (_record(record, np.int32, g.out_shape, _describe(x.shape, g)) if argmax else None)


def max_pool2d_backward(dy: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, ...],
                        pool_size: Any, strides: Any = None, padding: str = "valid",
                        data_format: str = "channels_last", *, _rank: int = 2) -> np.ndarray:
    """dx: each dy goes to its window's first maximum (argmax from the forward); the rest is 0."""
    op = "max_pool2d backward" if _rank == 2 else "max_pool1d backward"
    x_shape = _x_shape(op, x_shape)
    g = pool_geometry(op, x_shape, pool_size, strides, padding, data_format, _rank)
    dy = _grad_input(op, dy, g)
    argmax = _check_record(op, "argmax", argmax, _describe(x_shape, g), op.replace(" backward", "_forward"))
    if not dy.size:
        return np.zeros(tuple(x_shape), dy.dtype)
    dx = np.empty(tuple(x_shape), dy.dtype)
    bad = _pool.max_pool2d_backward(dy.reshape(g.out_view), argmax.reshape(g.out_view),
                                    dx.reshape(g.view), *_kernel_args(g), _threads(dx.size))
    if bad:  # unreachable for records of the forward; kept because a write out of bounds must never happen
        raise ValueError(f"{op}: {bad} argmax entries lie outside their windows or the input's "
                         f"{g.view[1]} x {g.view[2]} positions; pass the forward's argmax")
    return dx


def avg_pool2d_forward(x: np.ndarray, pool_size: Any, strides: Any = None, padding: str = "valid",
                       data_format: str = "channels_last", *, _rank: int = 2) -> np.ndarray:
    """y: the mean of each window over its valid (non-padded) elements."""
    op = "avg_pool2d" if _rank == 2 else "avg_pool1d"
    x = _float_array(op, "x", x)
    g = pool_geometry(op, x.shape, pool_size, strides, padding, data_format, _rank)
    y = np.empty(g.out_shape, x.dtype)
    if y.size:
        _pool.avg_pool2d_forward(x.reshape(g.view), y.reshape(g.out_view), *_kernel_args(g),
                                 _threads(x.size))
    return y


def avg_pool2d_backward(dy: np.ndarray, x_shape: tuple[int, ...], pool_size: Any,
                        strides: Any = None, padding: str = "valid",
                        data_format: str = "channels_last", *, _rank: int = 2) -> np.ndarray:
    """dx: each dy spread evenly over the valid elements of its window."""
    op = "avg_pool2d backward" if _rank == 2 else "avg_pool1d backward"
    x_shape = _x_shape(op, x_shape)
    g = pool_geometry(op, x_shape, pool_size, strides, padding, data_format, _rank)
    dy = _grad_input(op, dy, g)
    if not dy.size:
        return np.zeros(tuple(x_shape), dy.dtype)
    dx = np.empty(tuple(x_shape), dy.dtype)
    _pool.avg_pool2d_backward(dy.reshape(g.out_view), dx.reshape(g.view), *_kernel_args(g),
                              _threads(dx.size))
    return dx


def max_pool1d_forward(x: np.ndarray, pool_size: Any, strides: Any = None, padding: str = "valid",
                       data_format: str = "channels_last", *, argmax: bool = True
                       ) -> tuple[np.ndarray, ForwardRecord | None]:
    """(y, argmax) over (N, L, C) / (N, C, L); argmax holds positions along L (None: argmax=False)."""
    return max_pool2d_forward(x, pool_size, strides, padding, data_format, argmax=argmax, _rank=1)


def max_pool1d_backward(dy: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, ...],
                        pool_size: Any, strides: Any = None, padding: str = "valid",
                        data_format: str = "channels_last") -> np.ndarray:
    """dx of max_pool1d: each dy goes to its window's first maximum."""
    return max_pool2d_backward(dy, argmax, x_shape, pool_size, strides, padding, data_format,
                               _rank=1)


def avg_pool1d_forward(x: np.ndarray, pool_size: Any, strides: Any = None, padding: str = "valid",
                       data_format: str = "channels_last") -> np.ndarray:
    """Mean over the valid elements of each window of (N, L, C) / (N, C, L)."""
    return avg_pool2d_forward(x, pool_size, strides, padding, data_format, _rank=1)


def avg_pool1d_backward(dy: np.ndarray, x_shape: tuple[int, ...], pool_size: Any,
                        strides: Any = None, padding: str = "valid",
                        data_format: str = "channels_last") -> np.ndarray:
    """dx of avg_pool1d."""
    return avg_pool2d_backward(dy, x_shape, pool_size, strides, padding, data_format, _rank=1)


def _global_view(op: str, x: np.ndarray, data_format: str) -> np.ndarray:
    """(N, S, C) view of an input with any number S of spatial positions flattened."""
    validation.choice(data_format, _FORMATS, op, "data_format")
    if x.ndim < 3 or 0 in (x.shape[1:-1] if data_format == "channels_last" else x.shape[2:]):
        raise ValueError(f"{op}: expected input of rank >= 3 with non-empty spatial axes "
                         f"(data_format='{data_format}'), received shape {x.shape}")
    if data_format == "channels_last":
        return x.reshape(x.shape[0], -1, x.shape[-1])
    return x.reshape(x.shape[0], x.shape[1], -1).transpose(0, 2, 1)


def global_max_pool_forward(x: np.ndarray, data_format: str = "channels_last"
                            ) -> tuple[np.ndarray, ForwardRecord]:
    """(y, weights): (N, C) maxima over all spatial axes and, per (N, S, C) position, its share of
    the gradient: 1/k at each of the k tied maxima (TensorFlow's reduce_max rule), else 0."""
    op = "global_max_pool"
    x = _float_array(op, "x", x)
    v = _global_view(op, x, data_format)
    y = v.max(axis=1)
    tied = v == y[:, None, :]
    weights = tied / np.maximum(tied.sum(axis=1, keepdims=True), 1).astype(x.dtype)  # a NaN max: no gradient
    weights = weights.astype(x.dtype, copy=False)
    return y, _record(weights.tobytes(), weights.dtype, weights.shape,
                      f"x_shape={x.shape}, {x.dtype}, {data_format}")


def global_max_pool_backward(dy: np.ndarray, weights: np.ndarray, x_shape: tuple[int, ...],
                             data_format: str = "channels_last") -> np.ndarray:
    """dx: each dy[n, c] shared equally by the tied maxima of channel c; the rest is 0."""
    op = "global_max_pool backward"
    x_shape = _x_shape(op, x_shape)
    dy = _float_array(op, "dy", dy)
    dx = np.empty(tuple(x_shape), dy.dtype)
    v = _global_view(op, dx, data_format)  # a view: writes land in dx
    if dy.shape != (v.shape[0], v.shape[2]):
        raise ValueError(f"{op}: expected dy of shape {(v.shape[0], v.shape[2])}, received {dy.shape}")
    geometry = f"x_shape={tuple(x_shape)}, {dy.dtype}, {data_format}"
    v[...] = _check_record(op, "weights", weights, geometry, "global_max_pool_forward") * dy[:, None, :]
    return dx


def global_avg_pool_forward(x: np.ndarray, data_format: str = "channels_last") -> np.ndarray:
    """(N, C) means over all spatial axes."""
    x = _float_array("global_avg_pool", "x", x)
    return _global_view("global_avg_pool", x, data_format).mean(axis=1)


def global_avg_pool_backward(dy: np.ndarray, x_shape: tuple[int, ...],
                             data_format: str = "channels_last") -> np.ndarray:
    """dx = dy / S broadcast over the S spatial positions."""
    op = "global_avg_pool backward"
    x_shape = _x_shape(op, x_shape)
    dy = _float_array(op, "dy", dy)
    dx = np.empty(tuple(x_shape), dy.dtype)
    v = _global_view(op, dx, data_format)
    if dy.shape != (v.shape[0], v.shape[2]):
        raise ValueError(f"{op}: expected dy of shape {(v.shape[0], v.shape[2])}, received {dy.shape}")
    v[...] = (dy / v.shape[1])[:, None, :]
    return dx

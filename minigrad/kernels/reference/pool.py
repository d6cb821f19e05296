"""NumPy twins of kernels.pool: max/average pooling (1-D, 2-D) and global pooling, plain loops.

Keras/TensorFlow semantics written out: strides default to the pool size, "same" pads so that
out = ceil(in / s) with the odd pixel at the bottom/right, padded positions never take part, max
pooling's gradient goes to the first maximum of each window, global max pooling's is shared equally
by tied maxima (TensorFlow's reduce_max rule).
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "max_pool1d_forward", "max_pool1d_backward", "avg_pool1d_forward", "avg_pool1d_backward",
    "global_max_pool_forward", "global_max_pool_backward", "global_avg_pool_forward",
    "global_avg_pool_backward",
]


def _pool_windows(in_hw: tuple[int, ...], pool_size: Any, strides: Any, padding: str) -> list:
    """Per spatial axis, the clipped [start, stop) of each output window (TF 'same' semantics)."""
    rank = len(in_hw)
    pool = (pool_size,) * rank if np.isscalar(pool_size) else tuple(pool_size)
    stride = pool if strides is None else ((strides,) * rank if np.isscalar(strides) else tuple(strides))
    axes = []
    for n, k, s in zip(in_hw, pool, stride):
        if padding.lower() == "same":
            out = -(-n // s)
            before = max((out - 1) * s + k - n, 0) // 2
        else:
            out, before = (n - k) // s + 1, 0
        axes.append([(max(o * s - before, 0), min(o * s - before + k, n)) for o in range(out)])
    return axes


def _to_nhwc(x: np.ndarray, data_format: str, rank: int) -> np.ndarray:
    if data_format == "channels_first":
        x = np.moveaxis(x, 1, -1)
    return x[:, None] if rank == 1 else x


def _from_nhwc(y: np.ndarray, data_format: str, rank: int) -> np.ndarray:
    y = y[:, 0] if rank == 1 else y
    return np.ascontiguousarray(np.moveaxis(y, -1, 1) if data_format == "channels_first" else y)


def _pool_setup(shape: tuple[int, ...], pool_size: Any, strides: Any, padding: str,
                data_format: str, rank: int) -> tuple:
    nhwc = _to_nhwc(np.empty(shape, np.int8), data_format, rank).shape
    if rank == 1:
        pool_size = (1, pool_size if np.isscalar(pool_size) else pool_size[0])
        strides = None if strides is None else (1, strides if np.isscalar(strides) else strides[0])
    rows, cols = _pool_windows(nhwc[1:3], pool_size, strides, padding)
    return nhwc, rows, cols


def max_pool2d_forward(x: np.ndarray, pool_size: Any, strides: Any = None, padding: str = "valid",
                       data_format: str = "channels_last", *, argmax: bool = True, _rank: int = 2
                       ) -> tuple[np.ndarray, np.ndarray | None]:
    """(y, argmax): window maxima and the flat index h * W + w of the first maximum (None when
    argmax is False)."""
    (n, h, w, c), rows, cols = _pool_setup(x.shape, pool_size, strides, padding, data_format, _rank)
    xn = _to_nhwc(x, data_format, _rank)
    y = np.empty((n, len(rows), len(cols), c), x.dtype)
    arg = np.empty(y.shape, np.int32)
    for i, (h0, h1) in enumerate(rows):
        for j, (w0, w1) in enumerate(cols):
            win = xn[:, h0:h1, w0:w1, :].reshape(n, (h1 - h0) * (w1 - w0), c)
            k = win.argmax(axis=1)  # first occurrence in row-major window order
            y[:, i, j] = np.take_along_axis(win, k[:, None], axis=1)[:, 0]
            arg[:, i, j] = (h0 + k // (w1 - w0)) * w + w0 + k % (w1 - w0)
    return _from_nhwc(y, data_format, _rank), (_from_nhwc(arg, data_format, _rank) if argmax else None)


def max_pool2d_backward(dy: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, ...],
                        pool_size: Any, strides: Any = None, padding: str = "valid",
                        data_format: str = "channels_last", *, _rank: int = 2) -> np.ndarray:
    """Scatter-add each dy onto the input position argmax names."""
    (n, h, w, c), _, _ = _pool_setup(x_shape, pool_size, strides, padding, data_format, _rank)
    g, a = _to_nhwc(dy, data_format, _rank), _to_nhwc(argmax, data_format, _rank)
    dx = np.zeros((n, h * w, c), dy.dtype)
    nn, _, _, cc = np.indices(g.shape, sparse=True)
    np.add.at(dx, (nn, a, cc), g)
    return _from_nhwc(dx.reshape(n, h, w, c), data_format, _rank)


def avg_pool2d_forward(x: np.ndarray, pool_size: Any, strides: Any = None, padding: str = "valid",
                       data_format: str = "channels_last", *, _rank: int = 2) -> np.ndarray:
    """Mean over the valid elements of each window."""
    (n, _, _, c), rows, cols = _pool_setup(x.shape, pool_size, strides, padding, data_format, _rank)
    xn = _to_nhwc(x, data_format, _rank)
    y = np.empty((n, len(rows), len(cols), c), x.dtype)
    for i, (h0, h1) in enumerate(rows):
        for j, (w0, w1) in enumerate(cols):
            y[:, i, j] = xn[:, h0:h1, w0:w1, :].mean(axis=(1, 2))
    return _from_nhwc(y, data_format, _rank)


def avg_pool2d_backward(dy: np.ndarray, x_shape: tuple[int, ...], pool_size: Any,
                        strides: Any = None, padding: str = "valid",
                        data_format: str = "channels_last", *, _rank: int = 2) -> np.ndarray:
    """Each dy spread evenly over the valid elements of its window."""
    (n, h, w, c), rows, cols = _pool_setup(x_shape, pool_size, strides, padding, data_format, _rank)
    g = _to_nhwc(dy, data_format, _rank)
    dx = np.zeros((n, h, w, c), dy.dtype)
    for i, (h0, h1) in enumerate(rows):
        for j, (w0, w1) in enumerate(cols):
            dx[:, h0:h1, w0:w1, :] += g[:, i, j, None, None, :] / ((h1 - h0) * (w1 - w0))
    return _from_nhwc(dx, data_format, _rank)


def max_pool1d_forward(x: np.ndarray, pool_size: Any, strides: Any = None, padding: str = "valid",
                       data_format: str = "channels_last", *, argmax: bool = True
                       ) -> tuple[np.ndarray, np.ndarray | None]:
    """max_pool2d over (N, L, C) / (N, C, L)."""
    return max_pool2d_forward(x, pool_size, strides, padding, data_format, argmax=argmax, _rank=1)


def max_pool1d_backward(dy: np.ndarray, argmax: np.ndarray, x_shape: tuple[int, ...],
                        pool_size: Any, strides: Any = None, padding: str = "valid",
                        data_format: str = "channels_last") -> np.ndarray:
    """max_pool2d backward over (N, L, C) / (N, C, L)."""
    return max_pool2d_backward(dy, argmax, x_shape, pool_size, strides, padding, data_format,
                               _rank=1)


def avg_pool1d_forward(x: np.ndarray, pool_size: Any, strides: Any = None, padding: str = "valid",
                       data_format: str = "channels_last") -> np.ndarray:
    """avg_pool2d over (N, L, C) / (N, C, L)."""
    return avg_pool2d_forward(x, pool_size, strides, padding, data_format, _rank=1)


def avg_pool1d_backward(dy: np.ndarray, x_shape: tuple[int, ...], pool_size: Any,
                        strides: Any = None, padding: str = "valid",
                        data_format: str = "channels_last") -> np.ndarray:
    """avg_pool2d backward over (N, L, C) / (N, C, L)."""
    return avg_pool2d_backward(dy, x_shape, pool_size, strides, padding, data_format, _rank=1)


def _positions(x: np.ndarray, data_format: str) -> np.ndarray:
    """x as (N, S, C): its S spatial positions flattened in row-major order."""
    if data_format == "channels_last":
        return x.reshape(x.shape[0], -1, x.shape[-1])
    return x.reshape(x.shape[0], x.shape[1], -1).transpose(0, 2, 1)


def global_max_pool_forward(x: np.ndarray, data_format: str = "channels_last"
                            ) -> tuple[np.ndarray, np.ndarray]:
    """(y, weights): the (N, C) maxima over all spatial axes and, per (N, S, C) position, its share
    of the gradient: 1/k at each of the k maxima of its channel, else 0 (none when the max is NaN)."""
    v = _positions(x, data_format)
    y = v.max(axis=1)
    tied = v == y[:, None, :]
    count = tied.sum(axis=1, keepdims=True)
    return y, np.where(tied, 1 / np.maximum(count, 1), 0).astype(x.dtype)


def global_max_pool_backward(dy: np.ndarray, weights: np.ndarray, x_shape: tuple[int, ...],
                             data_format: str = "channels_last") -> np.ndarray:
    """dx = each position's weight times dy of its channel."""
    dx = np.empty(x_shape, dy.dtype)
    _positions(dx, data_format)[...] = np.asarray(weights) * dy[:, None, :]
    return dx


def global_avg_pool_forward(x: np.ndarray, data_format: str = "channels_last") -> np.ndarray:
    """The (N, C) means over all spatial axes."""
    return _positions(x, data_format).mean(axis=1)


def global_avg_pool_backward(dy: np.ndarray, x_shape: tuple[int, ...],
                             data_format: str = "channels_last") -> np.ndarray:
    """dx = dy / (number of spatial positions), at every position of the channel."""
    dx = np.empty(x_shape, dy.dtype)
    positions = _positions(dx, data_format)
    positions[...] = dy[:, None, :] / positions.shape[1]
    return dx

"""NumPy twins of kernels.conv: conv2d/conv1d forward and backward and the output-size arithmetic.

The geometry is derived here from REFERENCE.md's formula, out = floor((in + pads - d*(k-1) - 1) / s) + 1,
and TensorFlow's "same" rule, independently of kernels.conv_plan: a twin that shared the plan's
helpers would share its bugs.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["conv_output_size", "same_padding", "resolve_padding", "conv2d_forward",
           "conv2d_backward", "conv1d_forward", "conv1d_backward", "gemm_rowmajor"]

Padding = Any  # 'valid' | 'same' | p | (ph, pw) | (top, bottom, left, right) | ((t, b), (l, r))


def conv_output_size(in_size: int, kernel: int, stride: int, dilation: int, pad_before: int,
                     pad_after: int) -> int:
    """floor((in + pads - d*(k-1) - 1) / s) + 1 (<= 0 when the dilated kernel does not fit)."""
    return (in_size + pad_before + pad_after - (dilation * (kernel - 1) + 1)) // stride + 1


def same_padding(in_size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """(before, after) with out = ceil(in / s); an odd total puts the extra pixel after (TF)."""
    out = -(-in_size // stride)
    total = max(0, (out - 1) * stride + dilation * (kernel - 1) + 1 - in_size)
    return total // 2, total - total // 2


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, (int, np.integer)) else tuple(value)


def resolve_padding(padding: Padding, in_hw: Any, kernel: Any, strides: Any, dilation: Any,
                    op: str = "conv2d") -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of any accepted padding spelling (op only names the caller)."""
    if isinstance(padding, str):
        if padding.lower() == "valid":
            return 0, 0, 0, 0
        rows, cols = (same_padding(in_hw[a], kernel[a], strides[a], dilation[a]) for a in (0, 1))
        return (*rows, *cols)
    if isinstance(padding, (int, np.integer)):
        return (int(padding),) * 4
    flat = tuple(padding)
    if isinstance(flat[0], (tuple, list)):  # ((top, bottom), (left, right))
        return (*flat[0], *flat[1])
    if len(flat) == 2:  # (ph, pw): symmetric per axis
        return flat[0], flat[0], flat[1], flat[1]
    return flat


def _taps(out: int, size: int, pad: int, stride: int, offset: int) -> tuple[slice, slice]:
    """(output indices o, input indices o*stride - pad + offset) of one kernel tap along one axis,
    restricted to the input's [0, size): exact integer arithmetic, no padded copy."""
    first = max(0, -((offset - pad) // stride))  # ceil((pad - offset) / stride)
    last = min(out, (size - 1 + pad - offset) // stride + 1)
    if last <= first:
        return slice(0, 0), slice(0, 0)
    start = first * stride - pad + offset
    return slice(first, last), slice(start, start + (last - first - 1) * stride + 1, stride)


def _setup(x: np.ndarray, w: np.ndarray, strides: Any, padding: Padding, dilation: Any,
           data_format: str) -> tuple[np.ndarray, tuple[int, int, int, int], Callable]:
    """NHWC x, the NHWC output shape and, per tap (i, j), its (out rows, out cols, in rows, in cols)."""
    xn = x if data_format == "channels_last" else x.transpose(0, 2, 3, 1)
    n, h, wd, _ = xn.shape
    kh, kw = w.shape[:2]
    (sh, sw), (dh, dw) = _pair(strides), _pair(dilation)
    top, bottom, left, right = resolve_padding(padding, (h, wd), (kh, kw), (sh, sw), (dh, dw))
    oh = conv_output_size(h, kh, sh, dh, top, bottom)
    ow = conv_output_size(wd, kw, sw, dw, left, right)

    def tap(i: int, j: int) -> tuple[slice, slice, slice, slice]:
        out_r, rows = _taps(oh, h, top, sh, i * dh)
        out_c, cols = _taps(ow, wd, left, sw, j * dw)
        return out_r, out_c, rows, cols

    return xn, (n, oh, ow, w.shape[3]), tap


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   strides: Any = 1, padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                   data_format: str = "channels_last", activation: str | None = None) -> np.ndarray:
    """Sum over kernel taps of the input pixels each tap reads times w[i, j], per group; + b; relu."""
    xn, (n, oh, ow, f), tap = _setup(x, w, strides, padding, dilation, data_format)
    kh, kw, cg, _ = w.shape
    y = np.zeros((n, oh, ow, groups, f // groups), x.dtype)
    for i in range(kh):
        for j in range(kw):
            out_r, out_c, rows, cols = tap(i, j)
            patch = xn[:, rows, cols, :]
            patch = patch.reshape(*patch.shape[:3], groups, cg)
            y[:, out_r, out_c] += np.einsum("nhwgc,cgf->nhwgf", patch,
                                            w[i, j].reshape(cg, groups, f // groups))
    y = y.reshape(n, oh, ow, f)
    if b is not None:
        y += b
    if activation == "relu":
        y = np.where(y <= 0, 0, y)
    return y if data_format == "channels_last" else y.transpose(0, 3, 1, 2).copy()


def conv2d_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, *, strides: Any = 1,
                    padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                    data_format: str = "channels_last", need_dx: bool = True, need_dw: bool = True,
                    need_db: bool = True) -> tuple[np.ndarray | None, ...]:
    """dx scatters dy @ w[i, j]^T back to the pixels each tap read; dw[i, j] = pixels^T @ dy; db = sum dy."""
    xn, (n, oh, ow, f), tap = _setup(x, w, strides, padding, dilation, data_format)
    kh, kw, cg, _ = w.shape
    dyn = dy if data_format == "channels_last" else dy.transpose(0, 2, 3, 1)
    dyg = dyn.reshape(n, oh, ow, groups, f // groups)
    dxn = np.zeros(xn.shape, x.dtype)
    dw = np.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            out_r, out_c, rows, cols = tap(i, j)
            patch = xn[:, rows, cols, :]
            patch = patch.reshape(*patch.shape[:3], groups, cg)
            d = dyg[:, out_r, out_c]
            dw[i, j] = np.einsum("nhwgc,nhwgf->cgf", patch, d).reshape(cg, f)
            # one tap reads each input pixel at most once: the strided view takes += safely
            dxn[:, rows, cols, :] += np.einsum("nhwgf,cgf->nhwgc", d, w[i, j].reshape(
                cg, groups, f // groups)).reshape(*d.shape[:3], groups * cg)
    dx = dxn if data_format == "channels_last" else dxn.transpose(0, 3, 1, 2)
    return (np.ascontiguousarray(dx) if need_dx else None, dw if need_dw else None,
            dyn.sum(axis=(0, 1, 2)) if need_db else None)


def _as_2d(x: np.ndarray, w: np.ndarray, strides: Any, padding: Padding, dilation: Any,
           data_format: str) -> tuple:
    """conv1d's arguments as conv2d's with H = 1 (axis: where the unit height goes)."""
    axis = 1 if data_format == "channels_last" else 2
    if isinstance(padding, str):
        pads = padding
    elif isinstance(padding, (int, np.integer)):
        pads = (0, 0, padding, padding)
    else:
        pads = (0, 0, *padding)
    one = lambda v: (1, v if isinstance(v, (int, np.integer)) else tuple(v)[0])  # noqa: E731
    return np.expand_dims(x, axis), w[np.newaxis], one(strides), pads, one(dilation), axis


def conv1d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   strides: Any = 1, padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                   data_format: str = "channels_last", activation: str | None = None) -> np.ndarray:
    """conv1d of (N, L, C) with w (K, C/groups, F) as the conv2d twin with H = 1."""
    x2, w2, s2, p2, d2, axis = _as_2d(x, w, strides, padding, dilation, data_format)
    return conv2d_forward(x2, w2, b, strides=s2, padding=p2, dilation=d2, groups=groups,
                          data_format=data_format, activation=activation).squeeze(axis)


def conv1d_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, *, strides: Any = 1,
                    padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                    data_format: str = "channels_last", need_dx: bool = True, need_dw: bool = True,
                    need_db: bool = True) -> tuple[np.ndarray | None, ...]:
    """conv1d backward as the conv2d twin with H = 1."""
    x2, w2, s2, p2, d2, axis = _as_2d(x, w, strides, padding, dilation, data_format)
    dx, dw, db = conv2d_backward(np.expand_dims(dy, axis), x2, w2, strides=s2, padding=p2,
                                 dilation=d2, groups=groups, data_format=data_format,
                                 need_dx=need_dx, need_dw=need_dw, need_db=need_db)
    return (dx.squeeze(axis) if dx is not None else None), (dw[0] if dw is not None else None), db


def gemm_rowmajor(a: np.ndarray, b: np.ndarray, c: np.ndarray, trans_a: bool = False,
                  trans_b: bool = False, alpha: float = 1.0, beta: float = 0.0) -> None:
    """In place: c = alpha * op(a) @ op(b) + beta * c (the conv paths' BLAS call, _ext._blas);
    beta = 0 ignores c, NaN included, as BLAS does."""
    c[...] = alpha * ((a.T if trans_a else a) @ (b.T if trans_b else b)) + (beta * c if beta else 0)

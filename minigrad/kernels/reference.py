"""Plain NumPy twins of the compiled kernels (same signatures), for parity tests; slow but obvious."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.kernels.conv import Padding, _as_2d, _Plan


def _conv_setup(x: np.ndarray, w: np.ndarray, strides: Any, padding: Padding, dilation: Any,
                groups: int, data_format: str) -> tuple:
    """NHWC padded input and the window view of each kernel offset (i, j)."""
    plan = _Plan("conv2d reference", x, w, strides, padding, dilation, groups, data_format)
    xn = x if data_format == "channels_last" else x.transpose(0, 2, 3, 1)
    top, bottom, left, right = plan.pads
    xp = np.pad(xn, ((0, 0), (top, bottom), (left, right), (0, 0)))
    _, oh, ow, _ = plan.out_shape
    (sh, sw), (dh, dw) = plan.strides, plan.dilation

    def window(i: int, j: int) -> tuple[slice, slice]:
        return (slice(i * dh, i * dh + (oh - 1) * sh + 1, sh),
                slice(j * dw, j * dw + (ow - 1) * sw + 1, sw))

    return plan, xp, window


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   strides: Any = 1, padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                   data_format: str = "channels_last") -> np.ndarray:
    """Sum over kernel offsets of a strided window of the padded input times w[i, j]."""
    plan, xp, window = _conv_setup(x, w, strides, padding, dilation, groups, data_format)
    n, oh, ow, f = plan.out_shape
    kh, kw, cg, _ = w.shape
    y = np.zeros((n, oh, ow, groups, f // groups), x.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, cols = window(i, j)
            patch = xp[:, rows, cols, :].reshape(n, oh, ow, groups, cg)
            y += np.einsum("nhwgc,cgf->nhwgf", patch, w[i, j].reshape(cg, groups, f // groups))
    y = y.reshape(n, oh, ow, f)
    if b is not None:
        y += b
    return y if data_format == "channels_last" else y.transpose(0, 3, 1, 2).copy()


def conv2d_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, *, strides: Any = 1,
                    padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                    data_format: str = "channels_last", need_dx: bool = True, need_dw: bool = True,
                    need_db: bool = True) -> tuple[np.ndarray | None, ...]:
    """dx scatters dy @ w[i, j]^T back through each window; dw[i, j] = window^T @ dy; db = sum dy."""
    plan, xp, window = _conv_setup(x, w, strides, padding, dilation, groups, data_format)
    n, oh, ow, f = plan.out_shape
    kh, kw, cg, _ = w.shape
    dyn = dy if data_format == "channels_last" else dy.transpose(0, 2, 3, 1)
    dyg = dyn.reshape(n, oh, ow, groups, f // groups)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            rows, cols = window(i, j)
            wg = w[i, j].reshape(cg, groups, f // groups)
            patch = xp[:, rows, cols, :].reshape(n, oh, ow, groups, cg)
            dw[i, j] = np.einsum("nhwgc,nhwgf->cgf", patch, dyg).reshape(cg, f)
            dxp[:, rows, cols, :] += np.einsum("nhwgf,cgf->nhwgc", dyg, wg).reshape(n, oh, ow, groups * cg)
    top, _, left, _ = plan.pads
    _, h, wd, _ = plan.in_shape
    dx = dxp[:, top:top + h, left:left + wd, :]
    if data_format == "channels_first":
        dx = dx.transpose(0, 3, 1, 2)
    db = dyn.sum(axis=(0, 1, 2))
    return (np.ascontiguousarray(dx) if need_dx else None, dw if need_dw else None,
            db if need_db else None)


def conv1d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   strides: Any = 1, padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                   data_format: str = "channels_last") -> np.ndarray:
    """conv1d as the conv2d twin with H = 1."""
    x2, w2, s2, p2, d2, axis = _as_2d("conv1d", x, w, strides, padding, dilation, data_format)
    return conv2d_forward(x2, w2, b, strides=s2, padding=p2, dilation=d2, groups=groups,
                          data_format=data_format).squeeze(axis)


def conv1d_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, *, strides: Any = 1,
                    padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                    data_format: str = "channels_last", need_dx: bool = True, need_dw: bool = True,
                    need_db: bool = True) -> tuple[np.ndarray | None, ...]:
    """conv1d backward as the conv2d twin with H = 1."""
    x2, w2, s2, p2, d2, axis = _as_2d("conv1d", x, w, strides, padding, dilation, data_format)
    dx, dw, db = conv2d_backward(np.expand_dims(dy, axis), x2, w2, strides=s2, padding=p2,
                                 dilation=d2, groups=groups, data_format=data_format,
                                 need_dx=need_dx, need_dw=need_dw, need_db=need_db)
    return (dx.squeeze(axis) if dx is not None else None), (dw[0] if dw is not None else None), db

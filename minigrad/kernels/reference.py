"""Plain NumPy twins of the compiled kernels (same signatures), for parity tests; slow but obvious."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.kernels.conv import Padding, _as_2d, _pair, resolve_padding


def _taps_in(out: int, size: int, pad: int, stride: int, offset: int) -> tuple[int, int, slice]:
    """[lo, hi) of output indices o whose input index o*stride - pad + offset lies in [0, size),
    and the slice of those input indices: exact integer arithmetic, no padded copy."""
    lo = max(0, -((offset - pad) // stride))  # ceil((pad - offset) / stride)
    hi = min(out, (size - 1 + pad - offset) // stride + 1)
    if hi <= lo:
        return 0, 0, slice(0, 0)
    start = lo * stride - pad + offset
    return lo, hi, slice(start, start + (hi - lo - 1) * stride + 1, stride)


def _conv_setup(x: np.ndarray, w: np.ndarray, strides: Any, padding: Padding, dilation: Any,
                groups: int, data_format: str) -> tuple:
    """NHWC x, output size and, per kernel tap (i, j), the output box and input slices it touches
    (the padding only shifts indices: geometry with huge strides or pads costs nothing here)."""
    xn = x if data_format == "channels_last" else x.transpose(0, 2, 3, 1)
    n, h, wd, _ = xn.shape
    kh, kw = w.shape[:2]
    (sh, sw), (dh, dw) = _pair(strides, "strides", "reference"), _pair(dilation, "dilation", "reference")
    top, bottom, left, right = resolve_padding(padding, (h, wd), (kh, kw), (sh, sw), (dh, dw))
    oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + left + right - dw * (kw - 1) - 1) // sw + 1

    def tap(i: int, j: int) -> tuple[slice, slice, slice, slice]:
        """(output rows, output columns, input rows, input columns) of tap (i, j)."""
        r0, r1, rows = _taps_in(oh, h, top, sh, i * dh)
        c0, c1, cols = _taps_in(ow, wd, left, sw, j * dw)
        if r0 == r1 or c0 == c1:
            return slice(0, 0), slice(0, 0), slice(0, 0), slice(0, 0)
        return slice(r0, r1), slice(c0, c1), rows, cols

    return xn, (n, oh, ow, w.shape[3]), tap


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   strides: Any = 1, padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                   data_format: str = "channels_last", activation: str | None = None) -> np.ndarray:
    """Sum over kernel taps of the input pixels each tap reads times w[i, j]."""
    xn, (n, oh, ow, f), tap = _conv_setup(x, w, strides, padding, dilation, groups, data_format)
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
    xn, (n, oh, ow, f), tap = _conv_setup(x, w, strides, padding, dilation, groups, data_format)
    kh, kw, cg, _ = w.shape
    dyn = dy if data_format == "channels_last" else dy.transpose(0, 2, 3, 1)
    dyg = dyn.reshape(n, oh, ow, groups, f // groups)
    dxn = np.zeros(xn.shape, x.dtype)
    dw = np.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            out_r, out_c, rows, cols = tap(i, j)
            wg = w[i, j].reshape(cg, groups, f // groups)
            patch = xn[:, rows, cols, :]
            patch = patch.reshape(*patch.shape[:3], groups, cg)
            d = dyg[:, out_r, out_c]
            dw[i, j] = np.einsum("nhwgc,nhwgf->cgf", patch, d).reshape(cg, f)
            # one tap reads each input pixel at most once: the strided view takes += safely
            dxn[:, rows, cols, :] += np.einsum("nhwgf,cgf->nhwgc", d, wg).reshape(
                *d.shape[:3], groups * cg)
    dx = dxn if data_format == "channels_last" else dxn.transpose(0, 3, 1, 2)
    db = dyn.sum(axis=(0, 1, 2))
    return (np.ascontiguousarray(dx) if need_dx else None, dw if need_dw else None,
            db if need_db else None)


def conv1d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   strides: Any = 1, padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                   data_format: str = "channels_last", activation: str | None = None) -> np.ndarray:
    """conv1d as the conv2d twin with H = 1."""
    x2, w2, s2, p2, d2, axis = _as_2d("conv1d", x, w, strides, padding, dilation, data_format)
    return conv2d_forward(x2, w2, b, strides=s2, padding=p2, dilation=d2, groups=groups,
                          data_format=data_format, activation=activation).squeeze(axis)


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


# ---- activations, softmax, softmax cross-entropy (twins of kernels.activation) -----------------



class _LazyScipySpecial:
    """scipy.special, imported on first use: it costs ~100 ms, and `import minigrad` must stay fast."""

    def __getattr__(self, name: str) -> Any:
        from scipy import special

        return getattr(special, name)


_special = _LazyScipySpecial()

_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def relu_forward(x: np.ndarray) -> np.ndarray:
    """max(x, 0)."""
    return np.where(x > 0, x, np.where(np.isnan(x), x, 0)).astype(x.dtype)


def relu_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dy where x > 0."""
    return np.where(x > 0, dy, 0).astype(x.dtype)


def leaky_relu_forward(x: np.ndarray, negative_slope: float = 0.2) -> np.ndarray:
    """x, or negative_slope * x below 0."""
    return np.where(x < 0, x.dtype.type(negative_slope) * x, x)


def leaky_relu_backward(dy: np.ndarray, x: np.ndarray, negative_slope: float = 0.2) -> np.ndarray:
    """dy, or negative_slope * dy below 0."""
    return np.where(x < 0, x.dtype.type(negative_slope) * dy, dy)


def elu_forward(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """x, or alpha * (e^x - 1) at or below 0."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype)


def elu_backward(dy: np.ndarray, x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """dy, or dy * alpha * e^x at or below 0."""
    return np.where(x > 0, dy, dy * alpha * np.exp(np.minimum(x, 0))).astype(x.dtype)


def selu_forward(x: np.ndarray) -> np.ndarray:
    """scale * elu(x, alpha)."""
    return (_SELU_SCALE * elu_forward(x.astype(np.float64), _SELU_ALPHA)).astype(x.dtype)


def selu_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """scale * elu'(x, alpha) * dy."""
    return (_SELU_SCALE * elu_backward(dy, x.astype(np.float64), _SELU_ALPHA)).astype(x.dtype)


def _gelu_tanh_gate(x: np.ndarray) -> np.ndarray:
    xc = np.clip(x, -50.0, 50.0)  # the gate is saturated long before; avoids x^3 overflow
    return _special.expit(2 * np.sqrt(2 / np.pi) * (xc + 0.044715 * xc**3))


def gelu_forward(x: np.ndarray, approximate: bool = False) -> np.ndarray:
    """x * Phi(x), or x * 0.5 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    gate = _gelu_tanh_gate(x) if approximate else _special.ndtr(x)
    return (x * gate).astype(x.dtype)


def gelu_backward(dy: np.ndarray, x: np.ndarray, approximate: bool = False) -> np.ndarray:
    """dy * d gelu / dx."""
    if approximate:
        g, xc = _gelu_tanh_gate(x), np.clip(x, -50.0, 50.0)
        d = g + xc * g * (1 - g) * 2 * np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * xc**2)
    else:
        xc = np.clip(x, -50.0, 50.0)
        d = _special.ndtr(x) + xc * np.exp(-0.5 * xc**2) / np.sqrt(2 * np.pi)
    return (dy * d).astype(x.dtype)


def sigmoid_forward(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x)."""
    return _special.expit(x)


def sigmoid_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dy * y * (1 - y)."""
    return dy * y * (1 - y)


def hard_sigmoid_forward(x: np.ndarray) -> np.ndarray:
    """relu6(x + 3) / 6."""
    return np.clip((x + 3) / 6, 0, 1).astype(x.dtype)


def hard_sigmoid_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dy / 6 inside (-3, 3)."""
    return np.where((x > -3) & (x < 3), dy / 6, 0).astype(x.dtype)


def tanh_forward(x: np.ndarray) -> np.ndarray:
    """tanh(x)."""
    return np.tanh(x)


def tanh_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dy * (1 - y^2)."""
    return dy * (1 - y * y)


def softplus_forward(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x)."""
    return np.logaddexp(x.dtype.type(0), x)


def softplus_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dy * sigmoid(x)."""
    return dy * _special.expit(x)


def silu_forward(x: np.ndarray) -> np.ndarray:
    """x * sigmoid(x)."""
    return x * _special.expit(x)


def silu_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dy * (s + x s (1 - s))."""
    s = _special.expit(x)
    return dy * (s + x * s * (1 - s))


def linear_forward(x: np.ndarray) -> np.ndarray:
    """x (a copy)."""
    return np.array(x)


def linear_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dy (a copy)."""
    return np.array(dy)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """x - shift - log(sum(exp(x - shift))), the shift being the max when finite, else 0 (scipy's
    logsumexp rule; the kernels use it too): log_softmax([inf, 1]) is [nan, -inf]."""
    m = np.max(x, axis=axis, keepdims=True)
    z = x - np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """exp(x - shift) / sum, with _log_softmax's shift: softmax([inf, 1]) is [nan, 0] = exp([nan, -inf])."""
    m = np.max(x, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - np.where(np.isfinite(m), m, 0))
        return e / e.sum(axis=axis, keepdims=True)


def softmax_forward(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax along axis."""
    return _softmax(x, axis).astype(x.dtype)


def softmax_backward(dy: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """y * (dy - sum(dy * y))."""
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))


def log_softmax_forward(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log_softmax along axis."""
    return _log_softmax(x, axis).astype(x.dtype)


def log_softmax_backward(dy: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """dy - e^y * sum(dy)."""
    return dy - np.exp(y) * dy.sum(axis=axis, keepdims=True)


def softmax_cross_entropy_forward(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """-sum(target * log_softmax(logits), axis=1), 0 * -inf counted as 0."""
    logp = _log_softmax(logits, 1)
    with np.errstate(invalid="ignore"):  # 0 * -inf, discarded by the where
        return -np.where(target != 0, target * logp, 0).sum(axis=1).astype(logits.dtype)


def softmax_cross_entropy_backward(dy: np.ndarray, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """dy * (softmax * sum(target) - target)."""
    p = _softmax(logits, 1)
    with np.errstate(invalid="ignore"):  # NaN where softmax is NaN (an inf logit), as in the kernel
        return (dy[:, None] * (p * target.sum(axis=1, keepdims=True) - target)).astype(logits.dtype)


def sparse_softmax_cross_entropy_forward(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """-log_softmax(logits)[i, labels[i]]."""
    logp = _log_softmax(logits, 1)
    return -logp[np.arange(len(labels)), labels].astype(logits.dtype)


def sparse_softmax_cross_entropy_backward(dy: np.ndarray, logits: np.ndarray,
                                          labels: np.ndarray) -> np.ndarray:
    """dy * (softmax - onehot(labels))."""
    g = _softmax(logits, 1)
    g[np.arange(len(labels)), labels] -= 1
    return (dy[:, None] * g).astype(logits.dtype)


# ---- pooling (twins of kernels.pool): plain loops over windows, in NHWC --------------------------

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
                       data_format: str = "channels_last", *, _rank: int = 2
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(y, argmax): window maxima and the flat index h * W + w of the first maximum."""
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
    return _from_nhwc(y, data_format, _rank), _from_nhwc(arg, data_format, _rank)


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
                       data_format: str = "channels_last") -> tuple[np.ndarray, np.ndarray]:
    """max_pool2d over (N, L, C) / (N, C, L)."""
    return max_pool2d_forward(x, pool_size, strides, padding, data_format, _rank=1)


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

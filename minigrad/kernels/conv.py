"""Validated entry points to the conv kernels: conv2d/conv1d forward and backward, output sizes.

Weights use Keras' layout for both data formats: (KH, KW, C/groups, F) for 2-D, (K, C/groups, F)
for 1-D. The compiled kernel works on NHWC; channels_first arrays are transposed to it and back.
Every call finds its geometry's checked plan (conv_plan.plan) and runs the path the plan holds for
each direction, measured on first use (conv_tune). Benchmarks and tools read the same plan:
`plan("conv2d", x_shape, w_shape, dtype, strides, padding, dilation, groups, data_format)`, its
`.paths` / `.reasons` per direction, `plans()` for all seen, `force_path(...)` to impose one.
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

from minigrad import validation
from minigrad._ext import _blas, _conv
from minigrad.kernels import conv_winograd as winograd
from minigrad.kernels.conv_plan import (ConvPlan, Padding, _pair, conv_output_size, force_path,
                                        plan, plans, resolve_padding, same_padding)
from minigrad.kernels.conv_tune import tune

__all__ = [
    "conv_output_size", "same_padding", "resolve_padding", "conv2d_forward", "conv2d_backward",
    "conv1d_forward", "conv1d_backward", "plan", "plans", "force_path", "conv2d_plan", "conv1d_plan",
]

FUSED_ACTIVATIONS = (None, "relu")  # what the conv kernels can apply in their output pass


def _plan(op: str, x: np.ndarray, w: np.ndarray, strides: Any, padding: Padding, dilation: Any,
          groups: int, data_format: str) -> ConvPlan:
    """The cached plan of this call, after checking that x and w are float arrays of one dtype."""
    for name, arr in (("x", x), ("w", w)):
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{op}: {name} must be a numpy array, received {type(arr).__name__}")
        if arr.dtype not in (np.float32, np.float64):
            raise TypeError(f"{op}: {name} must be float32 or float64, received {arr.dtype}")
    if x.dtype != w.dtype:
        raise TypeError(f"{op}: x and w must share a dtype, received {x.dtype} and {w.dtype}")
    return plan(op, x.shape, w.shape, x.dtype, strides, padding, dilation, groups, data_format)


# Scratch reused across calls: a fresh multi-MiB buffer per step would pay a page fault per 4 KiB on
# first touch. One buffer per Python thread (threading.local), so two threads never share scratch.
_scratch = threading.local()


def _workspace(p: ConvPlan, size: int) -> np.ndarray:
    """This Python thread's scratch of p's dtype, at least `size` elements."""
    _blas.load()  # scipy's BLAS is resolved on first use (import speed), before threadpoolctl looks
    key = p.dtype.char  # ('.name' costs a few us: it is computed in Python)
    buf = getattr(_scratch, key, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, p.dtype)
        setattr(_scratch, key, buf)
    return buf


def _direct_weights(w: np.ndarray, p: ConvPlan) -> np.ndarray:
    """w as the direct kernel reads it: blocks of 2 vectors of filters, [block][tap][filter], zero
    past F (flattened)."""
    width = 2 * _conv.lanes(p.dtype.itemsize)
    f = p.w_shape[3]
    blocks = np.zeros((-(-f // width) * width, p.kg), p.dtype)
    blocks[:f] = w.reshape(p.kg, f).T
    return blocks.reshape(-1, width, p.kg).transpose(0, 2, 1).ravel()


_blas_libs: list | None = None


class _OneBlasThread:
    """Pin BLAS to one thread during a kernel: the kernels thread over chunks themselves, so BLAS
    threads would either nest inside OpenMP's or, on one thread, ignore set_num_threads (scipy's
    BLAS is loaded lazily, after threads.py applied its limit). Talks to threadpoolctl's per-library
    controllers directly: its limit() context re-queries every library and cost ~50 us per call."""

    def __enter__(self) -> None:
        global _blas_libs
        if _blas_libs is None:
            from threadpoolctl import ThreadpoolController  # after _conv has loaded scipy's BLAS

            _blas_libs = [lib for lib in ThreadpoolController().lib_controllers
                          if lib.user_api == "blas"]
        self.restore = [(lib, n) for lib in _blas_libs if (n := lib.num_threads) != 1]
        for lib, _ in self.restore:
            lib.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        for lib, n in self.restore:
            lib.set_num_threads(n)


def _one_blas_thread() -> _OneBlasThread:
    """A context manager pinning BLAS to one thread (see _OneBlasThread)."""
    return _OneBlasThread()


def _check_bias(op: str, b: np.ndarray | None, p: ConvPlan) -> np.ndarray | None:
    if b is None:
        return None
    if not isinstance(b, np.ndarray) or b.dtype != p.dtype or b.shape != (p.out_shape[3],):
        raise ValueError(f"{op}: expected bias of shape ({p.out_shape[3]},) and dtype {p.dtype}, "
                         f"received {getattr(b, 'shape', type(b).__name__)} / {getattr(b, 'dtype', '-')}")
    return np.ascontiguousarray(b)


def conv2d_plan(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                strides: Any = 1, padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                data_format: str = "channels_last", activation: str | None = None) -> ConvPlan:
    """The checked, cached plan conv2d_forward(x, w, b, ...) and its backward run by (the op's
    check calls this: every argument is validated before a node is recorded)."""
    return _checked("conv2d", x, w, b, strides, padding, dilation, groups, data_format,
                    activation)[0]


def _checked(op: str, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, strides: Any,
             padding: Padding, dilation: Any, groups: int, data_format: str,
             activation: str | None) -> tuple[ConvPlan, np.ndarray | None]:
    if activation not in FUSED_ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {FUSED_ACTIVATIONS} (fused into the "
                         f"kernel), received {activation!r}")
    p = _plan(op, x, w, strides, padding, dilation, groups, data_format)
    return p, _check_bias(op, b, p)


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   strides: Any = 1, padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                   data_format: str = "channels_last", activation: str | None = None) -> np.ndarray:
    """y = b + cross-correlation of x (N, H, W, C) with w (KH, KW, C/groups, F): (N, OH, OW, F);
    activation='relu' applies max(y, 0) in the same pass (fused)."""
    return _forward("conv2d", x, w, b, strides, padding, dilation, groups, data_format, activation)


def _forward(op: str, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, strides: Any,
             padding: Padding, dilation: Any, groups: int, data_format: str,
             activation: str | None) -> np.ndarray:
    p, b = _checked(op, x, w, b, strides, padding, dilation, groups, data_format, activation)
    y = np.empty(p.out_shape, x.dtype)
    if p.out_shape[0] > 0:
        run_forward(p, p.nhwc(x), w, b, y, activation == "relu")
    return p.native(y)


def run_forward(p: ConvPlan, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, y: np.ndarray,
                relu: bool = False) -> None:
    """y (NHWC, preallocated) by the plan's forward path (measured on first use); x NHWC
    C-contiguous, all checked."""
    tune(p, "forward", lambda: _run_forward(p, x, w, b, y, relu))
    _run_forward(p, x, w, b, y, relu)


def _run_forward(p: ConvPlan, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, y: np.ndarray,
                 relu: bool) -> None:
    c, paths, workspace, _ = p.state
    if paths["forward"] == "direct":
        wk = _direct_weights(w, p)
    elif paths["forward"] == "winograd":
        wk = winograd.weights(w, p.dtype)
    else:
        wk = np.ascontiguousarray(w).ravel()
    ws = _workspace(p, workspace["forward"])
    with _one_blas_thread():
        _conv.conv2d_forward(c, x, wk, b, y, ws, relu)


def conv2d_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, *, strides: Any = 1,
                    padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                    data_format: str = "channels_last", need_dx: bool = True, need_dw: bool = True,
                    need_db: bool = True) -> tuple[np.ndarray | None, ...]:
    """(dx like x, dw like w, db (F,)) from dy (N, OH, OW, F); None for each one not needed."""
    return _backward("conv2d backward", dy, x, w, strides, padding, dilation, groups, data_format,
                     need_dx, need_dw, need_db)


def _backward(op: str, dy: np.ndarray, x: np.ndarray, w: np.ndarray, strides: Any,
              padding: Padding, dilation: Any, groups: int, data_format: str, need_dx: bool,
              need_dw: bool, need_db: bool) -> tuple[np.ndarray | None, ...]:
    p = _plan(op, x, w, strides, padding, dilation, groups, data_format)
    expected = p.out_shape
    if data_format == "channels_first":
        expected = (expected[0], expected[3], expected[1], expected[2])
    if not isinstance(dy, np.ndarray) or dy.dtype != x.dtype or dy.shape != expected:
        raise ValueError(f"{op}: expected dy of shape {expected} and dtype {x.dtype}, "
                         f"received {getattr(dy, 'shape', type(dy).__name__)} / {getattr(dy, 'dtype', '-')}")
    dx = np.empty(p.in_shape, x.dtype) if need_dx else None
    dw = np.empty(w.shape, w.dtype) if need_dw else None
    db = np.empty(p.out_shape[3], x.dtype) if need_db else None
    if need_dx or need_dw or need_db:
        run_backward(p, p.nhwc(dy), p.nhwc(x), w, dx, dw, db)
    return (p.native(dx) if dx is not None else None), dw, db


def run_backward(p: ConvPlan, dy: np.ndarray, x: np.ndarray, w: np.ndarray,
                 dx: np.ndarray | None, dw: np.ndarray | None, db: np.ndarray | None) -> None:
    """Fill the given dx (NHWC), dw, db by the plan's backward paths (each measured on first
    use); arrays checked."""
    if dw is not None:
        tune(p, "weight_grad", lambda: _run_backward(p, dy, x, w, None, dw, None))
    if dx is not None:
        tune(p, "input_grad", lambda: _run_backward(p, dy, x, w, dx, None, None))
    _run_backward(p, dy, x, w, dx, dw, db)


def _run_backward(p: ConvPlan, dy: np.ndarray, x: np.ndarray, w: np.ndarray,
                  dx: np.ndarray | None, dw: np.ndarray | None, db: np.ndarray | None) -> None:
    c, paths, workspace, dual = p.state
    flat = np.ascontiguousarray(w).reshape(-1)
    if dx is not None and paths["input_grad"] == "implicit":
        flat = flat.reshape(p.kg, -1).T.ravel()  # (F, Kg): the implicit input gradient reads wT
    elif dx is not None and paths["input_grad"] == "winograd":  # w turned, C and F swapped
        flat = winograd.input_grad_weights(w, p.dtype)
    ws = _workspace(p, workspace["backward"])
    wino_dw = dw is not None and paths["weight_grad"] == "winograd"
    dk = np.empty(winograd.ELEMENTS * p.in_shape[3] * p.w_shape[3], p.dtype) if wino_dw else dw
    with _one_blas_thread():
        _conv.conv2d_backward(c, dy, x, flat, dx, dk.reshape(-1) if dk is not None else None, db,
                              ws, dual)
    if wino_dw:
        winograd.dweights(dk, dw)


def _as_2d(op: str, x: np.ndarray, w: np.ndarray, strides: Any, padding: Padding, dilation: Any,
           data_format: str) -> tuple:
    """conv1d as conv2d with H = 1: (N, L, C) -> (N, 1, L, C), w (K, C/g, F) -> (1, K, C/g, F)."""
    if getattr(x, "ndim", None) != 3 or getattr(w, "ndim", None) != 3:
        raise ValueError(f"{op}: expected x of rank 3 and w of rank 3 (K, C/groups, F), received "
                         f"x {getattr(x, 'shape', x)!r} and w {getattr(w, 'shape', w)!r}")
    axis = 1 if data_format == "channels_last" else 2
    (stride,), (dil,) = _pair(strides, "strides", op, 1), _pair(dilation, "dilation", op, 1)
    if isinstance(padding, str):
        pads: Padding = padding
    elif validation.is_int(padding):
        pads = (0, 0, padding, padding)
    else:
        pair = tuple(padding)
        if len(pair) != 2:
            raise TypeError(f"{op}: padding must be 'valid', 'same', an int or (left, right), "
                            f"received {padding!r}")
        pads = (0, 0, *pair)
    return np.expand_dims(x, axis), w[np.newaxis], (1, stride), pads, (1, dil), axis


def conv1d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   strides: Any = 1, padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                   data_format: str = "channels_last", activation: str | None = None) -> np.ndarray:
    """y = b + cross-correlation of x (N, L, C) with w (K, C/groups, F): (N, OL, F) (see conv2d)."""
    x2, w2, s2, p2, d2, axis = _as_2d("conv1d", x, w, strides, padding, dilation, data_format)
    return _forward("conv1d", x2, w2, b, s2, p2, d2, groups, data_format,
                    activation).squeeze(axis)


def conv1d_plan(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                strides: Any = 1, padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                data_format: str = "channels_last", activation: str | None = None) -> ConvPlan:
    """The checked, cached plan of conv1d_forward(x, w, b, ...): conv2d's with H = 1."""
    x2, w2, s2, p2, d2, _ = _as_2d("conv1d", x, w, strides, padding, dilation, data_format)
    return _checked("conv1d", x2, w2, b, s2, p2, d2, groups, data_format, activation)[0]


def conv1d_backward(dy: np.ndarray, x: np.ndarray, w: np.ndarray, *, strides: Any = 1,
                    padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                    data_format: str = "channels_last", need_dx: bool = True, need_dw: bool = True,
                    need_db: bool = True) -> tuple[np.ndarray | None, ...]:
    """(dx like x, dw like w, db (F,)) from dy (N, OL, F); None for each one not needed."""
    x2, w2, s2, p2, d2, axis = _as_2d("conv1d backward", x, w, strides, padding, dilation,
                                      data_format)
    dy2 = np.expand_dims(dy, axis) if getattr(dy, "ndim", None) == 3 else dy
    dx, dw, db = _backward("conv1d backward", dy2, x2, w2, s2, p2, d2, groups, data_format,
                           need_dx, need_dw, need_db)
    return (dx.squeeze(axis) if dx is not None else None), (dw[0] if dw is not None else None), db

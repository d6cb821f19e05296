"""Validated entry points to the conv kernels: conv2d/conv1d forward and backward, output sizes.

Weights use Keras' layout for both data formats: (KH, KW, C/groups, F) for 2-D, (K, C/groups, F)
for 1-D. The compiled kernel works on NHWC; channels_first arrays are transposed to it and back.
"""
from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np

from minigrad._ext import _blas, _conv
from minigrad._ext._parallel import num_threads

__all__ = [
    "conv_output_size", "same_padding", "resolve_padding", "conv2d_forward", "conv2d_backward",
    "conv1d_forward", "conv1d_backward",
]

Padding = str | int | Sequence[Any]
_FORMATS = ("channels_last", "channels_first")
_INT_MAX = 2**31 - 1
# A chunk of images per GEMM: about _TARGET_ROWS output pixels (GEMMs thinner than ~1000 rows lose
# efficiency, much taller ones spill the cache: measured 75/93/44 GFLOP/s at 676/2704/10816 rows
# for the 1->32 layer), and at most _CHUNK_ELEMENTS of im2col (1 MiB float32: one core's L2 here).
FUSED_ACTIVATIONS = (None, "relu")  # what the conv kernels can apply in their output pass
_TARGET_ROWS = 2048
_CHUNK_ELEMENTS = 256 * 1024


def conv_output_size(in_size: int, kernel: int, stride: int, dilation: int, pad_before: int,
                     pad_after: int) -> int:
    """floor((in + pads - d*(k-1) - 1) / s) + 1; may be <= 0 when the kernel does not fit."""
    return (in_size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def same_padding(in_size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """(before, after) giving out = ceil(in / s); the odd pixel goes after (bottom/right), as in TF."""
    out = -(-in_size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - in_size, 0)
    return total // 2, total - total // 2


def _pair(value: Any, name: str, op: str, rank: int = 2) -> tuple[int, ...]:
    vals = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    if len(vals) != rank or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                    for v in vals):
        raise TypeError(f"{op}: {name} must be an int or {rank} ints, received {value!r}")
    if min(vals) < 1:
        raise ValueError(f"{op}: {name} must be positive, received {value!r}")
    return tuple(int(v) for v in vals)


def resolve_padding(padding: Padding, in_hw: Sequence[int], kernel: Sequence[int],
                    strides: Sequence[int], dilation: Sequence[int], op: str = "conv2d"
                    ) -> tuple[int, int, int, int]:
    """'valid' | 'same' | p | (ph, pw) | (top, bottom, left, right) | ((t, b), (l, r)) -> (t, b, l, r)."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return 0, 0, 0, 0
        if mode == "same":
            return (*same_padding(in_hw[0], kernel[0], strides[0], dilation[0]),
                    *same_padding(in_hw[1], kernel[1], strides[1], dilation[1]))
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a tuple, "
                         f"received {padding!r}")
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        pads: tuple = (padding,) * 4
    else:
        flat = tuple(padding)
        if len(flat) == 2 and all(isinstance(p, (tuple, list)) for p in flat):
            flat = (*flat[0], *flat[1])
        pads = (flat[0], flat[0], flat[1], flat[1]) if len(flat) == 2 else flat
    if len(pads) != 4 or not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool)
                                 for p in pads):
        raise TypeError(f"{op}: padding must be 'valid', 'same', an int, (ph, pw) or "
                        f"(top, bottom, left, right), received {padding!r}")
    if min(pads) < 0:
        raise ValueError(f"{op}: padding must be non-negative, received {padding!r}")
    return tuple(int(p) for p in pads)  # type: ignore[return-value]


class _Plan:
    """Checked geometry of one conv2d call, in NHWC terms."""

    def __init__(self, op: str, x: np.ndarray, w: np.ndarray, strides: Any, padding: Padding,
                 dilation: Any, groups: int, data_format: str) -> None:
        if data_format not in _FORMATS:
            raise ValueError(f"{op}: data_format must be one of {_FORMATS}, received {data_format!r}")
        for name, arr in (("x", x), ("w", w)):
            if not isinstance(arr, np.ndarray):
                raise TypeError(f"{op}: {name} must be a numpy array, received {type(arr).__name__}")
            if arr.dtype not in (np.float32, np.float64):
                raise TypeError(f"{op}: {name} must be float32 or float64, received {arr.dtype}")
        if x.dtype != w.dtype:
            raise TypeError(f"{op}: x and w must share a dtype, received {x.dtype} and {w.dtype}")
        if x.ndim != 4 or w.ndim != 4:
            raise ValueError(f"{op}: expected x of rank 4 and w of rank 4 (KH, KW, C/groups, F), "
                             f"received x {x.shape} and w {w.shape}")
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
            raise ValueError(f"{op}: groups must be a positive int, received {groups!r}")
        self.op, self.groups, self.data_format = op, int(groups), data_format
        self.strides = _pair(strides, "strides", op)
        self.dilation = _pair(dilation, "dilation", op)
        n, h, wd, c = x.shape if data_format == "channels_last" else np.take(x.shape, (0, 2, 3, 1))
        kh, kw, cg, f = w.shape
        if min(kh, kw, cg, f) < 1:
            raise ValueError(f"{op}: kernel size, channels and filters must be positive, "
                             f"received w {w.shape}")
        if c % self.groups or f % self.groups or cg * self.groups != c:
            raise ValueError(
                f"{op}: x has {c} channels ({data_format}) and w {w.shape} expects "
                f"{cg} x groups={self.groups} = {cg * self.groups}; both channels and filters "
                f"({f}) must be divisible by groups")
        self.pads = resolve_padding(padding, (h, wd), (kh, kw), self.strides, self.dilation, op)
        top, bottom, left, right = self.pads
        oh = conv_output_size(h, kh, self.strides[0], self.dilation[0], top, bottom)
        ow = conv_output_size(wd, kw, self.strides[1], self.dilation[1], left, right)
        if oh < 1 or ow < 1:
            raise ValueError(
                f"{op}: kernel ({kh}, {kw}) with dilation {self.dilation} does not fit the padded "
                f"input ({h + top + bottom}, {wd + left + right}) (input ({h}, {wd}), padding "
                f"{self.pads}, strides {self.strides}): computed output size ({oh}, {ow})")
        if max(n * h * wd * c, oh * ow * kh * kw * cg, kh * kw * cg * f) > _INT_MAX:
            raise ValueError(f"{op}: arrays too large for the kernel's 32-bit GEMM sizes")
        self.in_shape, self.w_shape = (int(n), int(h), int(wd), int(c)), w.shape
        self.out_shape = (int(n), oh, ow, int(f))

    def nhwc(self, a: np.ndarray) -> np.ndarray:
        """a (N, H, W, C) C-contiguous, transposing from channels_first when needed."""
        if self.data_format == "channels_first":
            a = a.transpose(0, 2, 3, 1)
        return np.ascontiguousarray(a)

    def native(self, a: np.ndarray) -> np.ndarray:
        """An NHWC result back in the caller's data format."""
        return np.ascontiguousarray(a.transpose(0, 3, 1, 2)) if self.data_format == "channels_first" else a

    def kernel_args(self) -> tuple[int, ...]:
        return (*self.strides, *self.dilation, self.pads[0], self.pads[2], self.groups)


# Scratch reused across calls: a fresh multi-MiB buffer per step would pay a page fault per 4 KiB on
# first touch. One buffer per Python thread (threading.local), so two threads never share scratch.
_scratch = threading.local()


def _workspace(plan: _Plan, dtype: np.dtype, partials: bool) -> tuple[np.ndarray, int, int]:
    """(scratch, images per chunk, threads) for one call; small problems run on one thread."""
    _blas.load()  # scipy's BLAS is resolved on first use (import speed), before threadpoolctl looks
    n, _, _, _ = plan.in_shape
    _, oh, ow, _ = plan.out_shape
    kg = plan.w_shape[0] * plan.w_shape[1] * plan.w_shape[2]  # (np.prod costs ~5 us)
    # waking a second thread (and re-pinning BLAS) costs more than it saves on tiny problems
    n_threads = num_threads() if n * oh * ow * kg >= _CHUNK_ELEMENTS // 4 else 1
    per_thread = max(1, -(-n // n_threads))
    chunk = min(per_thread, -(-_TARGET_ROWS // (oh * ow)), _CHUNK_ELEMENTS // (oh * ow * kg))
    chunk = max(1, chunk)
    n_threads = max(1, min(n_threads, -(-n // chunk)))
    size = _conv.workspace_size(plan.in_shape, plan.w_shape, plan.out_shape, *plan.kernel_args(),
                                chunk, n_threads, partials, dtype.itemsize)
    key = np.dtype(dtype).char  # ('.name' costs a few us: it is computed in Python)
    buf = getattr(_scratch, key, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype)
        setattr(_scratch, key, buf)
    return buf, chunk, n_threads


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


def _check_bias(op: str, b: np.ndarray | None, plan: _Plan, dtype: np.dtype) -> np.ndarray | None:
    if b is None:
        return None
    if not isinstance(b, np.ndarray) or b.dtype != dtype or b.shape != (plan.out_shape[3],):
        raise ValueError(f"{op}: expected bias of shape ({plan.out_shape[3]},) and dtype {dtype}, "
                         f"received {getattr(b, 'shape', type(b).__name__)} / {getattr(b, 'dtype', '-')}")
    return np.ascontiguousarray(b)


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                   strides: Any = 1, padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
                   data_format: str = "channels_last", activation: str | None = None) -> np.ndarray:
    """y = b + cross-correlation of x (N, H, W, C) with w (KH, KW, C/groups, F): (N, OH, OW, F);
    activation='relu' applies max(y, 0) in the same pass (fused)."""
    return _forward("conv2d", x, w, b, strides, padding, dilation, groups, data_format, activation)


def _forward(op: str, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, strides: Any,
             padding: Padding, dilation: Any, groups: int, data_format: str,
             activation: str | None) -> np.ndarray:
    if activation not in FUSED_ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {FUSED_ACTIVATIONS} (fused into the "
                         f"kernel), received {activation!r}")
    plan = _Plan(op, x, w, strides, padding, dilation, groups, data_format)
    b = _check_bias(op, b, plan, x.dtype)
    y = np.empty(plan.out_shape, x.dtype)
    if plan.out_shape[0] > 0:
        ws, chunk, n_threads = _workspace(plan, x.dtype, partials=False)
        with _one_blas_thread():
            _conv.conv2d_forward(plan.nhwc(x), np.ascontiguousarray(w), b, y, *plan.kernel_args(),
                                 ws, chunk, n_threads, activation == "relu")
    return plan.native(y)


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
    plan = _Plan(op, x, w, strides, padding, dilation, groups, data_format)
    expected = plan.out_shape
    if data_format == "channels_first":
        expected = (expected[0], expected[3], expected[1], expected[2])
    if not isinstance(dy, np.ndarray) or dy.dtype != x.dtype or dy.shape != expected:
        raise ValueError(f"{op}: expected dy of shape {expected} and dtype {x.dtype}, "
                         f"received {getattr(dy, 'shape', type(dy).__name__)} / {getattr(dy, 'dtype', '-')}")
    dx = np.empty(plan.in_shape, x.dtype) if need_dx else None
    dw = np.empty(w.shape, w.dtype) if need_dw else None
    db = np.empty(plan.out_shape[3], x.dtype) if need_db else None
    if need_dx or need_dw or need_db:
        ws, chunk, n_threads = _workspace(plan, x.dtype, partials=True)
        with _one_blas_thread():
            _conv.conv2d_backward(plan.nhwc(dy), plan.nhwc(x), np.ascontiguousarray(w), dx, dw, db,
                                  *plan.kernel_args(), ws, chunk, n_threads)
    return (plan.native(dx) if dx is not None else None), dw, db


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
    elif isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
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

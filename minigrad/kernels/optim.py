"""Validated wrappers over minigrad._ext._optim: fused in-place optimizer updates on flat buffers.

The kernels write into w and the slot buffers in place, so every buffer must already be a
writable, 1-D, C-contiguous float32/float64 array of w's length and dtype (no silent copy: a copy
would swallow the update). Unused slots may be None.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad._ext import _optim
from minigrad._ext._parallel import num_threads
from minigrad.kernels.activation import _flag

__all__ = ["sgd_update", "rmsprop_update", "adam_update", "adagrad_update", "ema_update"]

# below this many elements a parallel region costs more than it saves
_PARALLEL_MIN = 1 << 14
_EMPTY = {np.dtype(np.float32): np.empty(0, np.float32), np.dtype(np.float64): np.empty(0, np.float64)}


def _threads(size: int) -> int:
    return num_threads() if size >= _PARALLEL_MIN else 1


def _buffer(op: str, name: str, a: Any, ref: np.ndarray | None = None, *, writable: bool = True) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{op}: expected {name} to be an ndarray, received {type(a).__name__}")
    if a.dtype != np.float32 and a.dtype != np.float64:
        raise TypeError(f"{op}: expected {name} of dtype float32 or float64, received {a.dtype}")
    if a.ndim != 1 or not a.flags.c_contiguous or (writable and not a.flags.writeable):
        raise ValueError(
            f"{op}: expected {name} to be a {'writable ' if writable else ''}1-D C-contiguous buffer, "
            f"received shape {a.shape} (contiguous={a.flags.c_contiguous}, writable={a.flags.writeable})"
        )
    if ref is not None and (a.shape != ref.shape or a.dtype != ref.dtype):
        raise ValueError(f"{op}: {name} must match w (shape {ref.shape}, {ref.dtype}), "
                         f"received shape {a.shape}, {a.dtype}")
    return a


def _slot(op: str, name: str, a: Any, w: np.ndarray, used: bool) -> np.ndarray:
    if not used:
        return _EMPTY[w.dtype]
    if a is None:
        raise ValueError(f"{op}: the {name} buffer is required with these settings, received None")
    return _buffer(op, name, a, w)


def _real(op: str, name: str, value: Any, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{op}: expected {name} to be a real number, received {value!r}")
    value = float(value)
    if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        bounds = f" in [{low}, {high}]" if high is not None else (f" >= {low}" if low is not None else "")
        raise ValueError(f"{op}: expected a finite {name}{bounds}, received {name}={value}")
    return value


def _distinct(op: str, **buffers: np.ndarray) -> None:
    """In-place kernels read and write element by element: overlapping buffers give wrong updates."""
    named = [(n, b) for n, b in buffers.items() if b.size]
    for i, (a_name, a) in enumerate(named):
        for b_name, b in named[i + 1:]:
            if np.may_share_memory(a, b):
                raise ValueError(f"{op}: {a_name} and {b_name} share memory; pass separate buffers")


def _common(op: str, w: Any, g: Any, grad_scale: Any, clip_value: Any, weight_decay: Any) -> tuple:
    w = _buffer(op, "w", w)
    g = _buffer(op, "g", g, w, writable=False)
    return (w, g, _real(op, "grad_scale", grad_scale, 0.0), _real(op, "clip_value", clip_value, 0.0),
            _real(op, "weight_decay", weight_decay, 0.0))


def sgd_update(w: np.ndarray, g: np.ndarray, m: np.ndarray | None, *, lr: float, momentum: float = 0.0,
               nesterov: bool = False, grad_scale: float = 1.0, clip_value: float = 0.0,
               weight_decay: float = 0.0) -> None:
    """In place: m = momentum*m - lr*g; w += m (nesterov: w += momentum*m - lr*g); else w -= lr*g."""
    op = "sgd_update"
    w, g, scale, clip, wd = _common(op, w, g, grad_scale, clip_value, weight_decay)
    momentum = _real(op, "momentum", momentum, 0.0, 1.0)
    m = _slot(op, "momentum", m, w, momentum != 0)
    _distinct(op, w=w, g=g, momentum=m)
    _optim.sgd_update(w, g, m, _real(op, "lr", lr), momentum, _flag(op, "nesterov", nesterov), scale, clip, wd,
                      _threads(w.size))


def rmsprop_update(w: np.ndarray, g: np.ndarray, velocity: np.ndarray, momentum_buffer: np.ndarray | None,
                   average_gradient: np.ndarray | None, *, lr: float, rho: float = 0.9,
                   momentum: float = 0.0, epsilon: float = 1e-7, centered: bool = False,
                   grad_scale: float = 1.0, clip_value: float = 0.0, weight_decay: float = 0.0) -> None:
    """In place: v = rho*v + (1-rho)*g^2; w -= lr*g/sqrt(v + eps) (centered: v - a^2 + eps)."""
    op = "rmsprop_update"
    w, g, scale, clip, wd = _common(op, w, g, grad_scale, clip_value, weight_decay)
    momentum = _real(op, "momentum", momentum, 0.0, 1.0)
    velocity = _slot(op, "velocity", velocity, w, True)
    momentum_buffer = _slot(op, "momentum", momentum_buffer, w, momentum > 0)
    centered = _flag(op, "centered", centered)
    average_gradient = _slot(op, "average_gradient", average_gradient, w, centered)
    _distinct(op, w=w, g=g, velocity=velocity, momentum=momentum_buffer, average_gradient=average_gradient)
    _optim.rmsprop_update(w, g, velocity, momentum_buffer, average_gradient, _real(op, "lr", lr),
                          _real(op, "rho", rho, 0.0, 1.0), momentum, _real(op, "epsilon", epsilon, 0.0),
                          centered, scale, clip, wd, _threads(w.size))


def adam_update(w: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, v_hat: np.ndarray | None, *,
                alpha: float, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                amsgrad: bool = False, lr: float = 0.0, grad_scale: float = 1.0,
                clip_value: float = 0.0, weight_decay: float = 0.0) -> None:
    """In place: m += (g-m)(1-b1); v += (g^2-v)(1-b2); w -= alpha*m/(sqrt(v or max(v_hat, v))+eps)."""
    op = "adam_update"
    w, g, scale, clip, wd = _common(op, w, g, grad_scale, clip_value, weight_decay)
    m = _slot(op, "m", m, w, True)
    v = _slot(op, "v", v, w, True)
    amsgrad = _flag(op, "amsgrad", amsgrad)
    v_hat = _slot(op, "v_hat", v_hat, w, amsgrad)
    _distinct(op, w=w, g=g, m=m, v=v, v_hat=v_hat)
    _optim.adam_update(w, g, m, v, v_hat, _real(op, "alpha", alpha), _real(op, "beta_1", beta_1, 0.0, 1.0),
                       _real(op, "beta_2", beta_2, 0.0, 1.0), _real(op, "epsilon", epsilon, 0.0),
                       amsgrad, _real(op, "lr", lr), scale, clip, wd, _threads(w.size))


def adagrad_update(w: np.ndarray, g: np.ndarray, accumulator: np.ndarray, *, lr: float,
                   epsilon: float = 1e-7, grad_scale: float = 1.0, clip_value: float = 0.0,
                   weight_decay: float = 0.0) -> None:
    """In place: acc += g^2; w -= lr*g/sqrt(acc + eps)."""
    op = "adagrad_update"
    w, g, scale, clip, wd = _common(op, w, g, grad_scale, clip_value, weight_decay)
    accumulator = _slot(op, "accumulator", accumulator, w, True)
    _distinct(op, w=w, g=g, accumulator=accumulator)
    _optim.adagrad_update(w, g, accumulator, _real(op, "lr", lr), _real(op, "epsilon", epsilon, 0.0),
                          scale, clip, wd, _threads(w.size))


def ema_update(average: np.ndarray, w: np.ndarray, momentum: float) -> None:
    """In place: average = momentum*average + (1-momentum)*w."""
    op = "ema_update"
    w = _buffer(op, "w", w, writable=False)
    average = _buffer(op, "average", average, w)
    _distinct(op, average=average, w=w)
    _optim.ema_update(average, w, _real(op, "momentum", momentum, 0.0, 1.0), _threads(w.size))

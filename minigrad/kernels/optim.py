"""Validated wrappers over minigrad._ext._optim: fused in-place optimizer updates on flat buffers.

The kernels write into w and the slot buffers in place, so every buffer must already be a
writable, 1-D, C-contiguous float32/float64 array of w's length and dtype (no silent copy: a copy
would swallow the update). Unused slots may be None.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad._ext import _optim
from minigrad._ext._parallel import num_threads
from minigrad.validation import boolean, real

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
    return (w, g, real(grad_scale, op, "grad_scale", low=0), real(clip_value, op, "clip_value", low=0),
            real(weight_decay, op, "weight_decay", low=0))


def sgd_update(w: np.ndarray, g: np.ndarray, m: np.ndarray | None, *, lr: float, momentum: float = 0.0,
               nesterov: bool = False, grad_scale: float = 1.0, clip_value: float = 0.0,
               weight_decay: float = 0.0) -> None:
    """In place: m = momentum*m - lr*g; w += m (nesterov: w += momentum*m - lr*g); else w -= lr*g."""
    op = "sgd_update"
    w, g, scale, clip, wd = _common(op, w, g, grad_scale, clip_value, weight_decay)
    momentum = real(momentum, op, "momentum", low=0, high=1)
    m = _slot(op, "momentum", m, w, momentum != 0)
    _distinct(op, w=w, g=g, momentum=m)
    _optim.sgd_update(w, g, m, real(lr, op, "lr"), momentum, boolean(nesterov, op, "nesterov"), scale, clip, wd,
                      _threads(w.size))


def rmsprop_update(w: np.ndarray, g: np.ndarray, velocity: np.ndarray, momentum_buffer: np.ndarray | None,
                   average_gradient: np.ndarray | None, *, lr: float, rho: float = 0.9,
                   momentum: float = 0.0, epsilon: float = 1e-7, centered: bool = False,
                   grad_scale: float = 1.0, clip_value: float = 0.0, weight_decay: float = 0.0) -> None:
    """In place: v = rho*v + (1-rho)*g^2; w -= lr*g/sqrt(v + eps) (centered: v - a^2 + eps)."""
    op = "rmsprop_update"
    w, g, scale, clip, wd = _common(op, w, g, grad_scale, clip_value, weight_decay)
    momentum = real(momentum, op, "momentum", low=0, high=1)
    velocity = _slot(op, "velocity", velocity, w, True)
    momentum_buffer = _slot(op, "momentum", momentum_buffer, w, momentum > 0)
    centered = boolean(centered, op, "centered")
    average_gradient = _slot(op, "average_gradient", average_gradient, w, centered)
    _distinct(op, w=w, g=g, velocity=velocity, momentum=momentum_buffer, average_gradient=average_gradient)
    _optim.rmsprop_update(w, g, velocity, momentum_buffer, average_gradient, real(lr, op, "lr"),
                          real(rho, op, "rho", low=0, high=1), momentum, real(epsilon, op, "epsilon", low=0),
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
    amsgrad = boolean(amsgrad, op, "amsgrad")
    v_hat = _slot(op, "v_hat", v_hat, w, amsgrad)
    _distinct(op, w=w, g=g, m=m, v=v, v_hat=v_hat)
    _optim.adam_update(w, g, m, v, v_hat, real(alpha, op, "alpha"), real(beta_1, op, "beta_1", low=0, high=1),
                       real(beta_2, op, "beta_2", low=0, high=1), real(epsilon, op, "epsilon", low=0),
                       amsgrad, real(lr, op, "lr"), scale, clip, wd, _threads(w.size))


def adagrad_update(w: np.ndarray, g: np.ndarray, accumulator: np.ndarray, *, lr: float,
                   epsilon: float = 1e-7, grad_scale: float = 1.0, clip_value: float = 0.0,
                   weight_decay: float = 0.0) -> None:
    """In place: acc += g^2; w -= lr*g/sqrt(acc + eps)."""
    op = "adagrad_update"
    w, g, scale, clip, wd = _common(op, w, g, grad_scale, clip_value, weight_decay)
    accumulator = _slot(op, "accumulator", accumulator, w, True)
    _distinct(op, w=w, g=g, accumulator=accumulator)
    _optim.adagrad_update(w, g, accumulator, real(lr, op, "lr"), real(epsilon, op, "epsilon", low=0),
                          scale, clip, wd, _threads(w.size))


def ema_update(average: np.ndarray, w: np.ndarray, momentum: float) -> None:
    """In place: average = momentum*average + (1-momentum)*w."""
    op = "ema_update"
    w = _buffer(op, "w", w, writable=False)
    average = _buffer(op, "average", average, w)
    _distinct(op, average=average, w=w)
    _optim.ema_update(average, w, real(momentum, op, "momentum", low=0, high=1), _threads(w.size))

"""Validated wrappers over minigrad._ext._activation: activations, softmax and softmax cross-entropy.

Every function checks dtype (float32/float64, TypeError otherwise), shapes and attrs, makes its
inputs C-contiguous, allocates the output and handles zero-size arrays before any kernel runs.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minigrad import validation
from minigrad._ext import _activation
from minigrad._ext._parallel import num_threads

__all__ = [
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "elu_forward", "elu_backward", "selu_forward", "selu_backward",
    "gelu_forward", "gelu_backward", "sigmoid_forward", "sigmoid_backward",
    "hard_sigmoid_forward", "hard_sigmoid_backward", "tanh_forward", "tanh_backward",
    "softplus_forward", "softplus_backward", "silu_forward", "silu_backward",
    "linear_forward", "linear_backward",
    "softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward",
    "softmax_cross_entropy_forward", "softmax_cross_entropy_backward",
    "sparse_softmax_cross_entropy_forward", "sparse_softmax_cross_entropy_backward",
]

# below this many elements a parallel region costs more than it saves
_PARALLEL_MIN = 1 << 14


def _threads(size: int) -> int:
    return num_threads() if size >= _PARALLEL_MIN else 1


def _float_array(op: str, name: str, a: Any) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype != np.float32 and a.dtype != np.float64:
        raise TypeError(f"{op}: expected {name} of dtype float32 or float64, received {a.dtype}")
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _like(op: str, name: str, a: Any, ref: np.ndarray, ref_name: str) -> np.ndarray:
    a = _float_array(op, name, a)
    if a.shape != ref.shape or a.dtype != ref.dtype:
        raise ValueError(
            f"{op}: {name} must match {ref_name} (shape {ref.shape}, {ref.dtype}), "
            f"received shape {a.shape}, {a.dtype}"
        )
    return a


def _unary(op: str, kernel: Callable, x: Any, *params: Any) -> np.ndarray:
    x = _float_array(op, "x", x)
    y = np.empty_like(x)
    if x.size:
        kernel(x.reshape(-1), y.reshape(-1), *params, _threads(x.size))
    return y


def _grad(op: str, kernel: Callable, dy: Any, saved: Any, saved_name: str, *params: Any) -> np.ndarray:
    saved = _float_array(op, saved_name, saved)
    dy = _like(op, "dy", dy, saved, saved_name)
    dx = np.empty_like(saved)
    if dx.size:
        kernel(dy.reshape(-1), saved.reshape(-1), dx.reshape(-1), *params, _threads(dx.size))
    return dx


def relu_forward(x: np.ndarray) -> np.ndarray:
    """y = max(x, 0) (NaN propagates)."""
    return _unary("relu", _activation.relu_forward, x)


def relu_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx = dy where x > 0, else 0."""
    return _grad("relu backward", _activation.relu_backward, dy, x, "x")


def leaky_relu_forward(x: np.ndarray, negative_slope: float = 0.2) -> np.ndarray:
    """y = x if x >= 0 else negative_slope * x."""
    slope = validation.real(negative_slope, "leaky_relu", "negative_slope", low=0)
    return _unary("leaky_relu", _activation.leaky_relu_forward, x, slope)


def leaky_relu_backward(dy: np.ndarray, x: np.ndarray, negative_slope: float = 0.2) -> np.ndarray:
    """dx = dy if x >= 0 else negative_slope * dy."""
    slope = validation.real(negative_slope, "leaky_relu backward", "negative_slope", low=0)
    return _grad("leaky_relu backward", _activation.leaky_relu_backward, dy, x, "x", slope)


def elu_forward(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """y = x if x > 0 else alpha * (exp(x) - 1)."""
    alpha = validation.real(alpha, "elu", "alpha")
    return _unary("elu", _activation.elu_forward, x, alpha)


def elu_backward(dy: np.ndarray, x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """dx = dy if x > 0 else dy * alpha * exp(x)."""
    alpha = validation.real(alpha, "elu backward", "alpha")
    return _grad("elu backward", _activation.elu_backward, dy, x, "x", alpha)


def selu_forward(x: np.ndarray) -> np.ndarray:
    """y = scale * elu(x, alpha) with the self-normalising constants of Klambauer et al."""
    return _unary("selu", _activation.selu_forward, x)


def selu_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx = scale * dy if x > 0 else scale * alpha * exp(x) * dy."""
    return _grad("selu backward", _activation.selu_backward, dy, x, "x")


def gelu_forward(x: np.ndarray, approximate: bool = False) -> np.ndarray:
    """y = x * Phi(x) (exact, erf) or x * 0.5 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return _unary("gelu", _activation.gelu_forward, x, validation.boolean(approximate, "gelu", "approximate"))


def gelu_backward(dy: np.ndarray, x: np.ndarray, approximate: bool = False) -> np.ndarray:
    """dx = dy * d gelu / dx, for the same form as the forward."""
    approximate = validation.boolean(approximate, "gelu backward", "approximate")
    return _grad("gelu backward", _activation.gelu_backward, dy, x, "x", approximate)


def sigmoid_forward(x: np.ndarray) -> np.ndarray:
    """y = 1 / (1 + exp(-x)), evaluated without overflow for any |x|."""
    return _unary("sigmoid", _activation.sigmoid_forward, x)


def sigmoid_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dx = dy * y * (1 - y), from the forward output y."""
    return _grad("sigmoid backward", _activation.sigmoid_backward, dy, y, "y")


def hard_sigmoid_forward(x: np.ndarray) -> np.ndarray:
    """y = relu6(x + 3) / 6 (Keras 3 definition)."""
    return _unary("hard_sigmoid", _activation.hard_sigmoid_forward, x)


def hard_sigmoid_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx = dy / 6 where -3 < x < 3, else 0."""
    return _grad("hard_sigmoid backward", _activation.hard_sigmoid_backward, dy, x, "x")


def tanh_forward(x: np.ndarray) -> np.ndarray:
    """y = tanh(x)."""
    return _unary("tanh", _activation.tanh_forward, x)


def tanh_backward(dy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dx = dy * (1 - y^2), from the forward output y."""
    return _grad("tanh backward", _activation.tanh_backward, dy, y, "y")


def softplus_forward(x: np.ndarray) -> np.ndarray:
    """y = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))."""
    return _unary("softplus", _activation.softplus_forward, x)


def softplus_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx = dy * sigmoid(x)."""
    return _grad("softplus backward", _activation.softplus_backward, dy, x, "x")


def silu_forward(x: np.ndarray) -> np.ndarray:
    """y = x * sigmoid(x) (a.k.a. swish)."""
    return _unary("silu", _activation.silu_forward, x)


def silu_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx = dy * s * (1 + x * (1 - s)) with s = sigmoid(x)."""
    return _grad("silu backward", _activation.silu_backward, dy, x, "x")


def linear_forward(x: np.ndarray) -> np.ndarray:
    """y = x (a copy, so callers never alias their input)."""
    return _float_array("linear", "x", x).copy()


def linear_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dx = dy (a copy)."""
    x = _float_array("linear backward", "x", x)
    return _like("linear backward", "dy", dy, x, "x").copy()



# ---- softmax family: kernels run over the last axis of a (rows, classes) view ------------------

def _axis(op: str, x: np.ndarray, axis: Any) -> int:
    axis = validation.integer(axis, op, "axis")
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for an input of shape {x.shape}")
    return axis % x.ndim


def _as_rows(a: np.ndarray, axis: int) -> np.ndarray:
    """(rows, classes) C-contiguous view with `axis` moved last (copies only when it must)."""
    if axis != a.ndim - 1:
        a = np.ascontiguousarray(np.moveaxis(a, axis, -1))
    return a.reshape(-1, a.shape[-1])


def _from_rows(rows: np.ndarray, shape: tuple[int, ...], axis: int) -> np.ndarray:
    moved = shape[:axis] + shape[axis + 1:] + (shape[axis],)
    out = rows.reshape(moved)
    return out if axis == len(shape) - 1 else np.ascontiguousarray(np.moveaxis(out, -1, axis))


def _rowwise(op: str, kernel: Callable, x: Any, axis: Any) -> np.ndarray:
    x = _float_array(op, "x", x)
    axis = _axis(op, x, axis)
    if x.size == 0:
        return np.empty_like(x)
    rows = _as_rows(x, axis)
    out = np.empty_like(rows)
    kernel(rows, out, _threads(rows.size))
    return _from_rows(out, x.shape, axis)


def _rowwise_grad(op: str, kernel: Callable, dy: Any, y: Any, axis: Any) -> np.ndarray:
    y = _float_array(op, "y", y)
    dy = _like(op, "dy", dy, y, "y")
    axis = _axis(op, y, axis)
    if y.size == 0:
        return np.empty_like(y)
    y_rows, dy_rows = _as_rows(y, axis), _as_rows(dy, axis)
    dx = np.empty_like(y_rows)
    kernel(dy_rows, y_rows, dx, _threads(dx.size))
    return _from_rows(dx, y.shape, axis)


def softmax_forward(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """y = exp(x - max) / sum(exp(x - max)) along axis."""
    return _rowwise("softmax", _activation.softmax_forward, x, axis)


def softmax_backward(dy: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """dx = y * (dy - sum(dy * y, axis)), from the forward output y."""
    return _rowwise_grad("softmax backward", _activation.softmax_backward, dy, y, axis)


def log_softmax_forward(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """y = x - max - log(sum(exp(x - max))) along axis."""
    return _rowwise("log_softmax", _activation.log_softmax_forward, x, axis)


def log_softmax_backward(dy: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """dx = dy - exp(y) * sum(dy, axis), from the forward output y."""
    return _rowwise_grad("log_softmax backward", _activation.log_softmax_backward, dy, y, axis)


def _logits(op: str, logits: Any) -> np.ndarray:
    logits = _float_array(op, "logits", logits)
    if logits.ndim != 2 or logits.shape[1] == 0:
        raise ValueError(
            f"{op}: expected logits of shape (N, C) with C >= 1, received shape {logits.shape}"
        )
    return logits


def _labels(op: str, labels: Any, logits: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected integer labels, received dtype {labels.dtype}")
    n, c = logits.shape
    if labels.shape != (n,):
        raise ValueError(f"{op}: expected labels of shape ({n},) for logits {logits.shape}, "
                         f"received shape {labels.shape}")
    if n and (labels.min() < 0 or labels.max() >= c):
        raise ValueError(f"{op}: labels must lie in [0, {c - 1}] for {c} classes, received values "
                         f"in [{labels.min()}, {labels.max()}]")
    return np.ascontiguousarray(labels, dtype=np.int64)


def _loss_grad(op: str, dy: Any, logits: np.ndarray) -> np.ndarray:
    dy = _float_array(op, "dy", dy)
    if dy.shape != logits.shape[:1] or dy.dtype != logits.dtype:
        raise ValueError(f"{op}: expected dy of shape {logits.shape[:1]} and dtype {logits.dtype}, "
                         f"received shape {dy.shape}, {dy.dtype}")
    return dy


def softmax_cross_entropy_forward(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """loss[i] = -sum_j target[i, j] * log_softmax(logits)[i, j]: (N, C), (N, C) -> (N,)."""
    op = "softmax_cross_entropy"
    logits = _logits(op, logits)
    target = _like(op, "target", target, logits, "logits")
    loss = np.empty(logits.shape[0], logits.dtype)
    if loss.size:
        _activation.softmax_cross_entropy_forward(logits, target, loss, _threads(logits.size))
    return loss


def softmax_cross_entropy_backward(dy: np.ndarray, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """dlogits[i] = dy[i] * (softmax(logits[i]) * sum(target[i]) - target[i])."""
    op = "softmax_cross_entropy backward"
    logits = _logits(op, logits)
    target = _like(op, "target", target, logits, "logits")
    dy = _loss_grad(op, dy, logits)
    dx = np.empty_like(logits)
    if dx.size:
        _activation.softmax_cross_entropy_backward(dy, logits, target, dx, _threads(dx.size))
    return dx


def sparse_softmax_cross_entropy_forward(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """loss[i] = logsumexp(logits[i]) - logits[i, labels[i]]: (N, C), int (N,) -> (N,)."""
    op = "sparse_softmax_cross_entropy"
    logits = _logits(op, logits)
    labels = _labels(op, labels, logits)
    loss = np.empty(logits.shape[0], logits.dtype)
    if loss.size:
        _activation.sparse_softmax_cross_entropy_forward(logits, labels, loss, _threads(logits.size))
    return loss


def sparse_softmax_cross_entropy_backward(dy: np.ndarray, logits: np.ndarray,
                                          labels: np.ndarray) -> np.ndarray:
    """dlogits[i] = dy[i] * (softmax(logits[i]) - onehot(labels[i]))."""
    op = "sparse_softmax_cross_entropy backward"
    logits = _logits(op, logits)
    labels = _labels(op, labels, logits)
    dy = _loss_grad(op, dy, logits)
    dx = np.empty_like(logits)
    if dx.size:
        _activation.sparse_softmax_cross_entropy_backward(dy, logits, labels, dx, _threads(dx.size))
    return dx

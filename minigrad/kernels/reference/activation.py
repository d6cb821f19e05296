"""NumPy/SciPy twins of kernels.activation: activations, softmax, log-softmax, softmax cross-entropy."""
from __future__ import annotations

import numpy as np
from scipy import special

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
    return special.expit(2 * np.sqrt(2 / np.pi) * (xc + 0.044715 * xc**3))


def gelu_forward(x: np.ndarray, approximate: bool = False) -> np.ndarray:
    """x * Phi(x), or x * 0.5 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    gate = _gelu_tanh_gate(x) if approximate else special.ndtr(x)
    return (x * gate).astype(x.dtype)


def gelu_backward(dy: np.ndarray, x: np.ndarray, approximate: bool = False) -> np.ndarray:
    """dy * d gelu / dx."""
    if approximate:
        g, xc = _gelu_tanh_gate(x), np.clip(x, -50.0, 50.0)
        d = g + xc * g * (1 - g) * 2 * np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * xc**2)
    else:
        xc = np.clip(x, -50.0, 50.0)
        d = special.ndtr(x) + xc * np.exp(-0.5 * xc**2) / np.sqrt(2 * np.pi)
    return (dy * d).astype(x.dtype)


def sigmoid_forward(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x)."""
    return special.expit(x)


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
    return dy * special.expit(x)


def silu_forward(x: np.ndarray) -> np.ndarray:
    """x * sigmoid(x)."""
    return x * special.expit(x)


def silu_backward(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dy * (s + x s (1 - s))."""
    s = special.expit(x)
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

"""keras.ops.nn names: activations, one_hot, normalisation helpers, crossentropies, conv and pooling.

Defaults are keras.ops' (they differ from
keras.activations in one place: `ops.gelu` is the tanh
approximation by default, `activations.gelu` the exact erf form).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad._ext._tensor import apply, make_tensor
from minigrad.ops.core import KERAS_FLOATX, as_array, as_tensor, standardize_dtype
from minigrad.ops.linalg import norm
from minigrad.ops.reduce import normalize_axis
from minigrad.tensor import Tensor

__all__ = ["relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "softplus", "softsign", "silu", "swish", "gelu",
           "elu", "selu", "leaky_relu", "log_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "mish", "glu",
           "softmax", "log_softmax", "one_hot", "multi_hot", "normalize", "moments", "batch_normalization",
           "dot_product_attention", "binary_crossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "conv", "depthwise_conv",
           "conv_transpose", "max_pool", "average_pool"]


def relu(x: Any) -> Tensor:
    """max(x, 0)."""
    return apply("relu", x)


def relu6(x: Any) -> Tensor:
    """min(max(x, 0), 6)."""
    return apply("clip", x, low=0.0, high=6.0)


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + exp(-x))."""
    return apply("sigmoid", x)


def hard_sigmoid(x: Any) -> Tensor:
    """relu6(x + 3) / 6."""
    return apply("hard_sigmoid", x)


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    return apply("tanh", x)


def softplus(x: Any) -> Tensor:
    """log(1 + exp(x))."""
    return apply("softplus", x)


def softsign(x: Any) -> Tensor:
    """x / (1 + |x|)."""
    return apply("divide", x, apply("add", apply("abs", x), 1.0))


def silu(x: Any) -> Tensor:
    """x * sigmoid(x)."""
    return apply("silu", x)


swish = silu


def gelu(x: Any, approximate: bool = True) -> Tensor:
    """x * Phi(x); keras.ops' default is the tanh approximation (approximate=True)."""
    return apply("gelu", x, approximate=bool(approximate))


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return apply("elu", x, alpha=float(alpha))


def selu(x: Any) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants."""
    return apply("selu", x)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    """x if x >= 0 else negative_slope * x."""
    return apply("leaky_relu", x, negative_slope=float(negative_slope))


def log_sigmoid(x: Any) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x) (stable for large |x|)."""
    return apply("negative", apply("softplus", apply("negative", x)))


def hard_silu(x: Any) -> Tensor:
    """x * hard_sigmoid(x)."""
    x = as_tensor(x)
    return apply("multiply", x, apply("hard_sigmoid", x))


hard_swish = hard_silu


def hard_tanh(x: Any) -> Tensor:
    """clip(x, -1, 1)."""
    return apply("clip", x, low=-1.0, high=1.0)


def mish(x: Any) -> Tensor:
    """x * tanh(softplus(x))."""
    x = as_tensor(x)
    return apply("multiply", x, apply("tanh", apply("softplus", x)))


def glu(x: Any, axis: int = -1) -> Tensor:
    """a * sigmoid(b) where a, b are the two halves of x along axis."""
    from minigrad.ops.arrays import split

    a, b = split(x, 2, axis=axis)
    return apply("multiply", a, apply("sigmoid", b))


def _over_axes(name: str, x: Any, axis: int | Sequence[int] | None) -> Tensor:
    """softmax-like op over any axes: a single axis goes straight to the op, several are moved last
    and merged first (the op works on one axis)."""
    x = as_tensor(x)
    if isinstance(axis, (int, np.integer)):
        return apply(name, x, axis=int(axis))
    axes = normalize_axis(name, None if axis is None else tuple(axis), x.ndim)
    rest = [a for a in range(x.ndim) if a not in axes]
    moved = apply("transpose", x, axes=tuple(rest + list(axes)))
    merged = apply("reshape", moved, shape=tuple(x.shape[a] for a in rest) + (-1,))
    y = apply("reshape", apply(name, merged, axis=-1), shape=moved.shape)
    return apply("transpose", y, axes=tuple(np.argsort(rest + list(axes))))


def softmax(x: Any, axis: int | Sequence[int] | None = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along axis (every axis when None)."""
    return _over_axes("softmax", x, axis)


def log_softmax(x: Any, axis: int | Sequence[int] | None = -1) -> Tensor:
    """x - logsumexp(x) along axis (every axis when None)."""
    return _over_axes("log_softmax", x, axis)


def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> Tensor:
    """A one at each integer label's class along a new axis; negative labels give all zeros (Keras)."""
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported by minigrad (dense tensors only)")
    labels = as_array(x)
    if labels.dtype.kind not in "iub" and not np.array_equal(labels, np.floor(labels)):
        raise TypeError(f"one_hot: expected integer labels, received dtype {labels.dtype} with fractions")
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be a positive int, received {num_classes!r}")
    labels = labels.astype(np.int64)
    out = (labels[..., None] == np.arange(num_classes)).astype(standardize_dtype(dtype or KERAS_FLOATX, "one_hot"))
    return make_tensor(np.moveaxis(out, -1, axis) if axis != -1 else out, False)


def multi_hot(inputs: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> Tensor:
    """One per row for every label it contains (the max of the rows' one-hot encodings)."""
    labels = as_array(inputs)
    hot = one_hot(labels, num_classes, axis=axis, dtype=dtype, sparse=sparse).data
    return make_tensor(hot.max(axis=1 if labels.ndim > 1 else 0), False)


def normalize(x: Any, axis: int = -1, order: int = 2, epsilon: float | None = None) -> Tensor:
    """x / max(norm_order(x), epsilon) along axis (Keras; epsilon defaults to 1e-7)."""
    x = as_tensor(x)
    eps = 1e-7 if epsilon is None else float(epsilon)
    if order == 2:  # sqrt(max(s, eps^2)) = max(sqrt(s), eps), with a finite gradient at s = 0
        squares = apply("sum", apply("multiply", x, x), axis=axis, keepdims=True)
        return apply("divide", x, apply("sqrt", apply("maximum", squares, eps * eps)))
    return apply("divide", x, apply("maximum", norm(x, ord=order, axis=axis, keepdims=True), eps))


def moments(x: Any, axes: int | Sequence[int], keepdims: bool = False,
            synchronized: bool = False) -> tuple[Tensor, Tensor]:
    """(mean, variance) of x over axes."""
    from minigrad.ops.stats import var

    axes = tuple(axes) if isinstance(axes, (list, tuple)) else axes
    x = as_tensor(x)
    return apply("mean", x, axis=axes, keepdims=keepdims), var(x, axis=axes, keepdims=keepdims)


def batch_normalization(x: Any, mean: Any, variance: Any, axis: int, offset: Any = None, scale: Any = None,
                        epsilon: float = 1e-3) -> Tensor:
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, the 1-D statistics laid along axis."""
    x = as_tensor(x)
    ax = normalize_axis("batch_normalization", axis, x.ndim)[0]
    shape = tuple(-1 if d == ax else 1 for d in range(x.ndim))

    def along(v: Any) -> Tensor:
        return apply("reshape", v, shape=shape)

    y = apply("divide", apply("subtract", x, along(mean)), apply("sqrt", apply("add", along(variance), epsilon)))
    y = y if scale is None else apply("multiply", y, along(scale))
    return y if offset is None else apply("add", y, along(offset))


def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None,
                          scale: float | None = None, is_causal: bool = False, flash_attention: Any = None,
                          attn_logits_soft_cap: float | None = None) -> Tensor:
    """softmax(q k^T * scale + bias, masked) v for (B, T, N, H) queries and (B, S, K, H) keys/values
    (K dividing N: grouped heads); scale defaults to 1 / sqrt(H)."""
    from minigrad.ops.arrays import repeat
    from minigrad.ops.linalg import einsum

    if flash_attention or attn_logits_soft_cap is not None:
        raise ValueError("dot_product_attention: flash_attention and attn_logits_soft_cap are not supported")
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if q.ndim != 4 or k.ndim != 4 or v.shape != k.shape or q.shape[-1] != k.shape[-1] or q.shape[2] % k.shape[2]:
        raise ValueError(f"dot_product_attention: expected query (B, T, N, H) and key/value (B, S, K, H) with K "
                         f"dividing N, received {q.shape}, {k.shape}, {v.shape}")
    if k.shape[2] != q.shape[2]:
        k, v = repeat(k, q.shape[2] // k.shape[2], axis=2), repeat(v, q.shape[2] // v.shape[2], axis=2)
    logits = apply("multiply", einsum("btnh,bsnh->bnts", q, k), 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale)
    if bias is not None:
        logits = apply("add", logits, bias)
    keep = None if mask is None else np.broadcast_to(as_array(mask).astype(bool), logits.shape)
    if is_causal:
        causal = np.tril(np.ones(logits.shape[-2:], bool))
        keep = causal if keep is None else keep & causal
    if keep is not None:  # Keras' large negative number: masked keys get ~0 weight, no NaN
        logits = apply("where", np.broadcast_to(keep, logits.shape), logits, -0.7 * np.finfo(logits.dtype).max)
    return einsum("bnts,bsnh->btnh", apply("softmax", logits, axis=-1), v)


def _last_axis(x: Tensor, axis: int) -> Tensor:
    return x if axis in (-1, x.ndim - 1) else apply("transpose", x, axes=tuple(
        [a for a in range(x.ndim) if a != axis % x.ndim] + [axis % x.ndim]))


def _crossentropy(cls_name: str, target: Any, output: Any, axis: int, **kwargs: Any) -> Tensor:
    from minigrad import losses

    output = as_tensor(output)
    labels = as_array(target)
    if axis not in (-1, output.ndim - 1):
        output = _last_axis(output, axis)
        if labels.ndim == output.ndim:
            labels = np.moveaxis(labels, axis, -1)
    return getattr(losses, cls_name)(reduction="none", **kwargs)(labels, output)


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> Tensor:
    """Elementwise -(t log p + (1 - t) log(1 - p)) (not averaged: the shape of output)."""
    from minigrad import losses

    output, labels = as_tensor(output), as_array(target)
    if labels.shape != output.shape:
        raise ValueError(f"binary_crossentropy: expected target of shape {output.shape} (the shape of output), "
                         f"received {labels.shape}")
    per = losses.BinaryCrossentropy(from_logits=from_logits, reduction="none")
    return per(labels.reshape(labels.shape + (1,)), apply("reshape", output, shape=output.shape + (1,)))


def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> Tensor:
    """-sum(target * log(softmax)) over axis, one value per sample."""
    return _crossentropy("CategoricalCrossentropy", target, output, axis, from_logits=from_logits)


def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                                    axis: int = -1) -> Tensor:
    """-log(softmax[target]) over axis, one value per sample; target holds class indices."""
    return _crossentropy("SparseCategoricalCrossentropy", target, output, axis, from_logits=from_logits)


def _data_format(data_format: str | None) -> str:
    fmt = "channels_last" if data_format is None else data_format
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(f"ops: data_format must be 'channels_last' or 'channels_first', received {data_format!r}")
    return fmt


def _one(v: Any) -> Any:
    return v[0] if isinstance(v, (list, tuple)) and len(v) == 1 else v


def _spatial_rank(who: str, inputs: Tensor, supported: tuple[int, ...]) -> int:
    rank = inputs.ndim - 2
    if rank not in supported:
        raise ValueError(f"{who}: minigrad supports inputs of rank {[r + 2 for r in supported]} (1-D/2-D), "
                         f"received shape {inputs.shape}")
    return rank


def conv(inputs: Any, kernel: Any, strides: int | Sequence[int] = 1, padding: str = "valid",
         data_format: str | None = None, dilation_rate: int | Sequence[int] = 1) -> Tensor:
    """N-D cross-correlation of inputs (N, *spatial, C) with kernel (*k, C/groups, F) (1-D and 2-D)."""
    inputs = as_tensor(inputs)
    rank = _spatial_rank("conv", inputs, (1, 2))
    fmt = _data_format(data_format)
    channels = inputs.shape[-1] if fmt == "channels_last" else inputs.shape[1]
    kernel = as_tensor(kernel)
    groups = max(channels // max(kernel.shape[-2], 1), 1)
    one = _one if rank == 1 else (lambda v: v)
    return apply(f"conv{rank}d", inputs, kernel, strides=one(strides), padding=padding,
                 dilation=one(dilation_rate), groups=groups, data_format=fmt)


def depthwise_conv(inputs: Any, kernel: Any, strides: int | Sequence[int] = 1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate: int | Sequence[int] = 1) -> Tensor:
    """Per-channel convolution with kernel (*k, C, multiplier): F = C * multiplier outputs."""
    inputs, kernel = as_tensor(inputs), as_tensor(kernel)
    rank = _spatial_rank("depthwise_conv", inputs, (1, 2))
    channels, multiplier = kernel.shape[-2], kernel.shape[-1]
    grouped = apply("reshape", kernel, shape=tuple(kernel.shape[:-2]) + (1, channels * multiplier))
    one = _one if rank == 1 else (lambda v: v)
    return apply(f"conv{rank}d", inputs, grouped, strides=one(strides), padding=padding,
                 dilation=one(dilation_rate), groups=channels, data_format=_data_format(data_format))


def conv_transpose(inputs: Any, kernel: Any, strides: int | Sequence[int] = 1, padding: str = "valid",
                   output_padding: int | Sequence[int] | None = None, data_format: str | None = None,
                   dilation_rate: int | Sequence[int] = 1) -> Tensor:
    """Transposed convolution (the conv's input gradient) with kernel (*k, F_out, C_in)."""
    inputs = as_tensor(inputs)
    rank = _spatial_rank("conv_transpose", inputs, (1, 2))
    return apply(f"conv{rank}d_transpose", inputs, kernel, strides=strides, padding=padding,
                 output_padding=output_padding, dilation=dilation_rate, data_format=_data_format(data_format))


def _pool(kind: str, inputs: Any, pool_size: Any, strides: Any, padding: str, data_format: str | None) -> Tensor:
    inputs = as_tensor(inputs)
    rank = _spatial_rank(f"{kind}_pool", inputs, (1, 2))
    one = _one if rank == 1 else (lambda v: v)
    op = f"{'max' if kind == 'max' else 'avg'}_pool{rank}d"
    return apply(op, inputs, pool_size=one(pool_size), strides=None if strides is None else one(strides),
                 padding=padding, data_format=_data_format(data_format))


def max_pool(inputs: Any, pool_size: int | Sequence[int], strides: int | Sequence[int] | None = None,
             padding: str = "valid", data_format: str | None = None) -> Tensor:
    """Max over windows of pool_size (strides default to pool_size)."""
    return _pool("max", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs: Any, pool_size: int | Sequence[int], strides: int | Sequence[int] | None = None,
                 padding: str = "valid", data_format: str | None = None) -> Tensor:
    """Mean over windows of pool_size (strides default to pool_size)."""
    return _pool("average", inputs, pool_size, strides, padding, data_format)

"""keras.ops names for math, reductions and linear algebra on Tensors, arrays and scalars.

Each function is differentiable through registered ops (composed where no new backward is needed);
functions whose result is an index, a bool or a rounded value carry no gradient, as in Keras.
Argument names and defaults follow keras.ops (`axis=None, keepdims=False`, ...).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad._ext._tensor import apply, make_tensor
from minigrad.ops.core import as_array, as_tensor, standardize_dtype
from minigrad.ops.reduce import normalize_axis
from minigrad.tensor import Tensor

__all__ = ["add", "subtract", "multiply", "divide", "power", "negative", "abs", "square", "sqrt", "rsqrt",
           "reciprocal", "exp", "expm1", "log", "log1p", "log2", "log10", "erf", "logaddexp", "floor_divide",
           "mod", "maximum", "minimum", "clip", "where", "sign", "floor", "ceil", "round", "argmax", "argmin",
           "argsort", "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
           "logical_or", "logical_not", "isnan", "isinf", "isfinite", "all", "any", "count_nonzero", "sum",
           "mean", "max", "min", "prod", "cumsum", "cumprod", "logsumexp", "true_divide", "absolute", "amax",
           "amin"]

Axis = int | Sequence[int] | None


def _axis(axis: Axis) -> Any:
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _constant(values: np.ndarray) -> Tensor:
    return make_tensor(np.asarray(values), False)


# ----- elementwise arithmetic (scalars take the float dtype of the tensors they meet)
def add(x1: Any, x2: Any) -> Tensor:
    """x1 + x2 (broadcasting)."""
    return apply("add", x1, x2)


def subtract(x1: Any, x2: Any) -> Tensor:
    """x1 - x2 (broadcasting)."""
    return apply("subtract", x1, x2)


def multiply(x1: Any, x2: Any) -> Tensor:
    """x1 * x2 (broadcasting)."""
    return apply("multiply", x1, x2)


def divide(x1: Any, x2: Any) -> Tensor:
    """x1 / x2 (broadcasting, true division)."""
    return apply("divide", x1, x2)


true_divide = divide


def power(x1: Any, x2: Any) -> Tensor:
    """x1 ** x2 (broadcasting)."""
    return apply("power", x1, x2)


def negative(x: Any) -> Tensor:
    """-x."""
    return apply("negative", x)


def abs(x: Any) -> Tensor:  # noqa: A001 (Keras' name)
    """|x|."""
    return apply("abs", x)


absolute = abs


def square(x: Any) -> Tensor:
    """x * x."""
    x = as_tensor(x)
    return apply("multiply", x, x)


def sqrt(x: Any) -> Tensor:
    """Square root."""
    return apply("sqrt", x)


def rsqrt(x: Any) -> Tensor:
    """1 / sqrt(x)."""
    return apply("divide", 1.0, apply("sqrt", x))


def reciprocal(x: Any) -> Tensor:
    """1 / x."""
    return apply("divide", 1.0, x)


def exp(x: Any) -> Tensor:
    """e ** x."""
    return apply("exp", x)


def expm1(x: Any) -> Tensor:
    """exp(x) - 1."""
    return apply("subtract", apply("exp", x), 1.0)


def log(x: Any) -> Tensor:
    """Natural logarithm."""
    return apply("log", x)


def log1p(x: Any) -> Tensor:
    """log(1 + x)."""
    return apply("log", apply("add", x, 1.0))


def log2(x: Any) -> Tensor:
    """Base-2 logarithm."""
    return apply("multiply", apply("log", x), 1.0 / np.log(2.0))


def log10(x: Any) -> Tensor:
    """Base-10 logarithm."""
    return apply("multiply", apply("log", x), 1.0 / np.log(10.0))


def erf(x: Any) -> Tensor:
    """The Gauss error function."""
    return apply("erf", x)


def logaddexp(x1: Any, x2: Any) -> Tensor:
    """log(exp(x1) + exp(x2)) as max + log(1 + exp(-|x1 - x2|)) (no overflow)."""
    x1, x2 = as_tensor(x1), as_tensor(x2)
    gap = apply("negative", apply("abs", apply("subtract", x1, x2)))
    return apply("add", apply("maximum", x1, x2), apply("log", apply("add", apply("exp", gap), 1.0)))


def floor_divide(x1: Any, x2: Any) -> Tensor:
    """floor(x1 / x2) (no gradient)."""
    return _constant(np.floor_divide(as_array(x1), as_array(x2)))


def mod(x1: Any, x2: Any) -> Tensor:
    """x1 mod x2 with the sign of x2 (no gradient)."""
    return _constant(np.mod(as_array(x1), as_array(x2)))


def maximum(x1: Any, x2: Any) -> Tensor:
    """Elementwise max (ties share the gradient)."""
    return apply("maximum", x1, x2)


def minimum(x1: Any, x2: Any) -> Tensor:
    """Elementwise min (ties share the gradient)."""
    return apply("minimum", x1, x2)


def clip(x: Any, x_min: float | None, x_max: float | None) -> Tensor:
    """min(max(x, x_min), x_max)."""
    return apply("clip", x, low=x_min, high=x_max)


def where(condition: Any, x1: Any = None, x2: Any = None) -> Tensor | tuple[Tensor, ...]:
    """x1 where condition else x2; with neither, the indices where condition holds (np.nonzero)."""
    cond = as_array(condition).astype(bool)
    if x1 is None and x2 is None:
        return tuple(_constant(i) for i in np.nonzero(cond))
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    return apply("where", cond, as_tensor(x1), as_tensor(x2))  # Python floats become float32, as in Keras


# ----- results without a gradient (indices, booleans, rounding)
def sign(x: Any) -> Tensor:
    """-1, 0 or 1 (no gradient: its derivative is zero almost everywhere)."""
    return _constant(np.sign(as_array(x)))


def floor(x: Any) -> Tensor:
    """Largest integer <= x (no gradient)."""
    return _constant(np.floor(as_array(x)))


def ceil(x: Any) -> Tensor:
    """Smallest integer >= x (no gradient)."""
    return _constant(np.ceil(as_array(x)))


def round(x: Any, decimals: int = 0) -> Tensor:  # noqa: A001 (Keras' name)
    """x rounded half to even (no gradient)."""
    return _constant(np.round(as_array(x), decimals))


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest value (of the flattened x when axis is None)."""
    return _constant(np.argmax(as_array(x), axis=axis, keepdims=keepdims))


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the smallest value (of the flattened x when axis is None)."""
    return _constant(np.argmin(as_array(x), axis=axis, keepdims=keepdims))


def argsort(x: Any, axis: int = -1) -> Tensor:
    """Indices that sort x along axis."""
    return _constant(np.argsort(as_array(x), axis=axis, kind="stable"))


def equal(x1: Any, x2: Any) -> Tensor:
    """x1 == x2 (bool)."""
    return apply("equal", x1, x2)


def not_equal(x1: Any, x2: Any) -> Tensor:
    """x1 != x2 (bool)."""
    return apply("not_equal", x1, x2)


def less(x1: Any, x2: Any) -> Tensor:
    """x1 < x2 (bool)."""
    return apply("less", x1, x2)


def less_equal(x1: Any, x2: Any) -> Tensor:
    """x1 <= x2 (bool)."""
    return apply("less_equal", x1, x2)


def greater(x1: Any, x2: Any) -> Tensor:
    """x1 > x2 (bool)."""
    return apply("greater", x1, x2)


def greater_equal(x1: Any, x2: Any) -> Tensor:
    """x1 >= x2 (bool)."""
    return apply("greater_equal", x1, x2)


def logical_and(x1: Any, x2: Any) -> Tensor:
    """x1 and x2 (bool)."""
    return _constant(np.logical_and(as_array(x1), as_array(x2)))


def logical_or(x1: Any, x2: Any) -> Tensor:
    """x1 or x2 (bool)."""
    return _constant(np.logical_or(as_array(x1), as_array(x2)))


def logical_not(x: Any) -> Tensor:
    """not x (bool)."""
    return _constant(np.logical_not(as_array(x)))


def isnan(x: Any) -> Tensor:
    """True where x is NaN."""
    return _constant(np.isnan(as_array(x)))


def isinf(x: Any) -> Tensor:
    """True where x is +-inf."""
    return _constant(np.isinf(as_array(x)))


def isfinite(x: Any) -> Tensor:
    """True where x is neither NaN nor inf."""
    return _constant(np.isfinite(as_array(x)))


def all(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """True where every element along axis is true."""
    return _constant(np.all(as_array(x), axis=_axis(axis), keepdims=keepdims))


def any(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """True where some element along axis is true."""
    return _constant(np.any(as_array(x), axis=_axis(axis), keepdims=keepdims))


def count_nonzero(x: Any, axis: Axis = None) -> Tensor:
    """Number of non-zero elements along axis."""
    return _constant(np.count_nonzero(as_array(x), axis=_axis(axis)))


# ----- reductions
def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over axis (all axes when None)."""
    return apply("sum", x, axis=_axis(axis), keepdims=keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Mean over axis (all axes when None)."""
    return apply("mean", x, axis=_axis(axis), keepdims=keepdims)


def max(x: Any, axis: Axis = None, keepdims: bool = False, initial: float | None = None) -> Tensor:  # noqa: A001
    """Largest value over axis; with `initial`, no smaller than it."""
    y = apply("max", x, axis=_axis(axis), keepdims=keepdims)
    return y if initial is None else apply("maximum", y, initial)


def min(x: Any, axis: Axis = None, keepdims: bool = False, initial: float | None = None) -> Tensor:  # noqa: A001
    """Smallest value over axis; with `initial`, no larger than it."""
    y = apply("min", x, axis=_axis(axis), keepdims=keepdims)
    return y if initial is None else apply("minimum", y, initial)


amax, amin = max, min


def prod(x: Any, axis: Axis = None, keepdims: bool = False, dtype: Any = None) -> Tensor:
    """Product over axis (the gradient is exact where elements are zero)."""
    x = as_tensor(x) if dtype is None else as_tensor(x).astype(standardize_dtype(dtype, "prod"))
    return apply("prod", x, axis=_axis(axis), keepdims=keepdims)


def cumsum(x: Any, axis: int | None = None, dtype: Any = None) -> Tensor:
    """Running sum along axis (over the flattened x when axis is None)."""
    x = as_tensor(x) if dtype is None else as_tensor(x).astype(standardize_dtype(dtype, "cumsum"))
    return apply("cumsum", x, axis=axis)


def cumprod(x: Any, axis: int | None = None, dtype: Any = None) -> Tensor:
    """Running product along axis (over the flattened x when axis is None); exact gradients at zeros."""
    x = as_tensor(x) if dtype is None else as_tensor(x).astype(standardize_dtype(dtype, "cumprod"))
    return apply("cumprod", x, axis=axis)


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over axis, computed as m + log(sum(exp(x - m))) with m = max(x) (no overflow)."""
    x = as_tensor(x)
    axes = normalize_axis("logsumexp", _axis(axis), x.ndim)
    m = np.max(x.data, axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype)  # a constant: its gradient terms cancel
    s = apply("sum", apply("exp", apply("subtract", x, m)), axis=axes, keepdims=keepdims)
    return apply("add", apply("log", s), m if keepdims else np.squeeze(m, axis=axes))

"""keras.ops names for math, reductions and linear algebra on Tensors, arrays and scalars.

Each function is differentiable through registered ops (composed where no new backward is needed);
functions whose result is an index, a bool or a rounded value carry no gradient, as in Keras.
Argument names and defaults follow keras.ops (`axis=None, keepdims=False`, ...).
"""
from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from minigrad._ext._tensor import apply, make_tensor
from minigrad.errors import ShapeError
from minigrad.ops.arrays import moveaxis, reshape, transpose
from minigrad.ops.core import as_array, as_tensor, standardize_dtype
from minigrad.ops.reduce import normalize_axis
from minigrad.tensor import Tensor

__all__ = ["add", "subtract", "multiply", "divide", "power", "negative", "abs", "square", "sqrt", "rsqrt",
           "reciprocal", "exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tanh", "maximum",
           "minimum", "clip", "where", "sign", "floor", "ceil", "round", "argmax", "argmin", "argsort",
           "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
           "logical_or", "logical_not", "isnan", "isinf", "isfinite", "all", "any", "count_nonzero", "sum",
           "mean", "max", "min", "prod", "cumsum", "var", "std", "logsumexp", "matmul", "tensordot", "dot",
           "outer", "trace", "norm", "true_divide", "absolute", "amax", "amin"]

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


def sin(x: Any) -> Tensor:
    """Sine."""
    return apply("sin", x)


def cos(x: Any) -> Tensor:
    """Cosine."""
    return apply("cos", x)


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    return apply("tanh", x)


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
    return apply("where", cond, x1, x2)


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


def var(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Population variance mean((x - mean(x))^2) over axis."""
    x = as_tensor(x)
    centred = apply("subtract", x, apply("mean", x, axis=_axis(axis), keepdims=True))
    return apply("mean", apply("multiply", centred, centred), axis=_axis(axis), keepdims=keepdims)


def std(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """Population standard deviation sqrt(var(x)) over axis."""
    return apply("sqrt", var(x, axis=axis, keepdims=keepdims))


def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over axis, computed as m + log(sum(exp(x - m))) with m = max(x) (no overflow)."""
    x = as_tensor(x)
    axes = normalize_axis("logsumexp", _axis(axis), x.ndim)
    m = np.max(x.data, axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype)  # a constant: its gradient terms cancel
    s = apply("sum", apply("exp", apply("subtract", x, m)), axis=axes, keepdims=keepdims)
    return apply("add", apply("log", s), m if keepdims else np.squeeze(m, axis=axes))


# ----- linear algebra
def matmul(x1: Any, x2: Any) -> Tensor:
    """x1 @ x2 (batched; 1-D operands as in numpy)."""
    return apply("matmul", x1, x2)


def tensordot(x1: Any, x2: Any, axes: int | Sequence = 2) -> Tensor:
    """Sum of products over the given axes of x1 and x2 (numpy.tensordot), as one matmul."""
    a, b = as_tensor(x1), as_tensor(x2)
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        axes_a, axes_b = ([axes[0]] if isinstance(axes[0], int) else list(axes[0]),
                          [axes[1]] if isinstance(axes[1], int) else list(axes[1]))
    axes_a, axes_b = [ax % builtins.max(a.ndim, 1) for ax in axes_a], [ax % builtins.max(b.ndim, 1) for ax in axes_b]
    if [a.shape[i] for i in axes_a] != [b.shape[i] for i in axes_b]:
        raise ShapeError(f"tensordot: axes {axes_a} of {a.shape} and {axes_b} of {b.shape} differ in size")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    k = int(np.prod([a.shape[i] for i in axes_a]))
    a2 = reshape(transpose(a, free_a + axes_a), (-1, k))
    b2 = reshape(transpose(b, axes_b + free_b), (k, -1))
    return reshape(apply("matmul", a2, b2), tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))


def dot(x1: Any, x2: Any) -> Tensor:
    """numpy.dot: a product for scalars, matmul for 1-D/2-D, else the last axis of x1 with the
    second-to-last of x2."""
    a, b = as_tensor(x1), as_tensor(x2)
    if a.ndim == 0 or b.ndim == 0:
        return apply("multiply", a, b)
    if b.ndim <= 2 and a.ndim <= 2:
        return apply("matmul", a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 2 if b.ndim > 1 else 0]))


def outer(x1: Any, x2: Any) -> Tensor:
    """x1 (flattened) as a column times x2 (flattened) as a row."""
    return apply("multiply", reshape(x1, (-1, 1)), reshape(x2, (1, -1)))


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """Sum of the diagonal of x over axis1/axis2."""
    x = as_tensor(x)
    mask = np.eye(x.shape[axis1], x.shape[axis2], k=offset, dtype=x.dtype)
    moved = moveaxis(x, (axis1, axis2), (-2, -1))
    return apply("sum", apply("multiply", moved, mask), axis=(-2, -1))


def _vector_norm(x: Tensor, ord: Any, axis: Any, keepdims: bool) -> Tensor:
    a = apply("abs", x)
    if ord is None or ord == 2:
        return apply("sqrt", apply("sum", apply("multiply", x, x), axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return apply("max", a, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return apply("min", a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return _constant(np.sum(x.data != 0, axis=axis, keepdims=keepdims).astype(x.dtype))
    if ord == 1:
        return apply("sum", a, axis=axis, keepdims=keepdims)
    p = float(ord)
    return apply("power", apply("sum", apply("power", a, p), axis=axis, keepdims=keepdims), 1.0 / p)


def _matrix_norm(x: Tensor, ord: Any, axis: tuple[int, int], keepdims: bool) -> Tensor:
    if ord in (None, "fro"):
        return apply("sqrt", apply("sum", apply("multiply", x, x), axis=axis, keepdims=keepdims))
    if ord in (1, -1, np.inf, -np.inf):  # max/min absolute column (ord +-1) or row (ord +-inf) sum
        rows, cols = axis
        summed, pick = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = apply("sum", apply("abs", x), axis=summed, keepdims=True)
        y = apply("max" if ord in (1, np.inf) else "min", sums, axis=pick, keepdims=True)
        return y if keepdims else apply("reshape", y, shape=tuple(
            n for i, n in enumerate(x.shape) if i not in (rows % x.ndim, cols % x.ndim)))
    raise ValueError(f"norm: matrix ord={ord!r} needs singular values, which minigrad does not compute; "
                     f"supported: None, 'fro', 1, -1, inf, -inf")


def norm(x: Any, ord: Any = None, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A002
    """Vector or matrix norm (numpy.linalg.norm's rules for ord and axis)."""
    x = as_tensor(x)
    if axis is None and ord is not None and x.ndim == 2:
        axis = (0, 1)
    if axis is None:
        return _vector_norm(x, ord, None, keepdims)
    axes = _axis(axis)
    if isinstance(axes, tuple) and len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    if isinstance(axes, tuple) and len(axes) != 1:
        raise ValueError(f"norm: axis must be an int or a pair of ints, received {axis!r}")
    return _vector_norm(x, ord, axes[0] if isinstance(axes, tuple) else axes, keepdims)

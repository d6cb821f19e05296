"""keras.ops names that create tensors (new float tensors are float32 unless dtype says otherwise)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad._ext._tensor import make_tensor
from minigrad.ops.core import KERAS_FLOATX, as_array, standardize_dtype
from minigrad.tensor import Tensor

__all__ = ["array", "ones", "zeros", "full", "empty", "ones_like", "zeros_like", "full_like", "arange", "linspace",
           "eye", "identity"]


def _dtype(dtype: Any, who: str, default: Any = KERAS_FLOATX) -> np.dtype:
    return standardize_dtype(default if dtype is None else dtype, who)


def array(x: Any, dtype: Any = None) -> Tensor:
    """A Tensor holding a copy of x (Python floats become float32, as in Keras)."""
    if dtype is not None:
        return Tensor(np.array(as_array(x), dtype=_dtype(dtype, "array")))
    return Tensor(np.array(x.data if isinstance(x, Tensor) else x) if isinstance(x, (Tensor, np.ndarray)) else x)


def ones(shape: Sequence[int] | int, dtype: Any = None) -> Tensor:
    """A tensor of ones."""
    return make_tensor(np.ones(shape, _dtype(dtype, "ones")), False)


def zeros(shape: Sequence[int] | int, dtype: Any = None) -> Tensor:
    """A tensor of zeros."""
    return make_tensor(np.zeros(shape, _dtype(dtype, "zeros")), False)


def empty(shape: Sequence[int] | int, dtype: Any = None) -> Tensor:
    """A tensor of the given shape (zeros: minigrad never hands out uninitialised memory)."""
    return zeros(shape, dtype)


def full(shape: Sequence[int] | int, fill_value: Any, dtype: Any = None) -> Tensor:
    """A tensor filled with fill_value."""
    return make_tensor(np.full(shape, as_array(fill_value), _dtype(dtype, "full")), False)


def ones_like(x: Any, dtype: Any = None) -> Tensor:
    """Ones of x's shape (and dtype unless given)."""
    return make_tensor(np.ones(np.shape(as_array(x)), _dtype(dtype, "ones_like", as_array(x).dtype)), False)


def zeros_like(x: Any, dtype: Any = None) -> Tensor:
    """Zeros of x's shape (and dtype unless given)."""
    return make_tensor(np.zeros(np.shape(as_array(x)), _dtype(dtype, "zeros_like", as_array(x).dtype)), False)


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    """fill_value in x's shape (and dtype unless given)."""
    a = as_array(x)
    return make_tensor(np.full(a.shape, as_array(fill_value), _dtype(dtype, "full_like", a.dtype)), False)


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None) -> Tensor:
    """Evenly spaced values in [start, stop); int32 for int arguments, float32 otherwise (Keras)."""
    if stop is None:
        start, stop = 0, start
    every_int = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, stop, step))
    default = "int32" if every_int else KERAS_FLOATX
    return make_tensor(np.arange(start, stop, step, dtype=_dtype(dtype, "arange", default)), False)


def linspace(start: float, stop: float, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0) -> Tensor | tuple[Tensor, float]:
    """num evenly spaced values from start to stop."""
    values, step = np.linspace(start, stop, num, endpoint=endpoint, retstep=True, axis=axis)
    out = make_tensor(values.astype(_dtype(dtype, "linspace")), False)
    return (out, float(step)) if retstep else out


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Tensor:  # noqa: N803 (Keras' names)
    """An N x M matrix with ones on the k-th diagonal."""
    return make_tensor(np.eye(N, M, k, dtype=_dtype(dtype, "eye")), False)


def identity(n: int, dtype: Any = None) -> Tensor:
    """The n x n identity matrix."""
    return eye(n, dtype=dtype)

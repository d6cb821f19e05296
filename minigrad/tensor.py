"""Tensor: an n-d array with reverse-mode autograd; every operator is one line into ops.apply."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from minigrad._ext import _tensor
from minigrad._ext._tensor import TensorBase, apply, is_grad_enabled, make_tensor, set_grad_enabled

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _as_data(data: Any, dtype: Any) -> np.ndarray:
    if isinstance(data, TensorBase):
        data = data.data
    if dtype is not None:
        arr = np.asarray(data, dtype=dtype)
    else:
        arr = np.asarray(data)
        if arr.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
            arr = arr.astype(np.float32)  # Python floats default to float32, as in Keras/PyTorch
        elif arr.dtype == np.float16:
            arr = arr.astype(np.float32)
    if arr.dtype.kind == "f" and arr.dtype not in _FLOATS:
        raise TypeError(f"Tensor: unsupported float dtype {arr.dtype}; use float32 or float64")
    if arr.dtype.kind not in "fiub":
        raise TypeError(
            f"Tensor: unsupported dtype {arr.dtype}; expected float32/float64, integer or bool data"
        )
    return arr


class Tensor(TensorBase):
    """An n-d array (float32 by default) that records the ops applied to it for backward().

    Built from an ndarray of a supported dtype, it shares that array's memory (like
    torch.as_tensor). Higher-order gradients are not supported: backward() yields plain arrays.
    """

    __slots__ = ()
    __array_priority__ = 100  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self.data = _as_data(data, dtype)
        self.grad = None
        self.node = None
        self.requires_grad = requires_grad

    # ----- plain properties
    shape = property(lambda self: self.data.shape, doc="Shape tuple.")
    dtype = property(lambda self: self.data.dtype, doc="numpy dtype.")
    ndim = property(lambda self: self.data.ndim, doc="Number of axes.")
    size = property(lambda self: self.data.size, doc="Number of elements.")
    T = property(lambda self: apply("transpose", self), doc="Axes reversed.")
    # Keras' Variable.value is the backend tensor (torch: v.value.grad); a weight here is that tensor
    value = property(lambda self: self, doc="The tensor itself (Keras' Variable.value), so v.value.grad is v.grad.")

    def numpy(self) -> np.ndarray:
        """The underlying array (no copy)."""
        return self.data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python scalar."""
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors convert to scalars, shape is {self.shape}")
        return self.data.item()

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate gradients of this tensor into the .grad of every leaf that requires grad."""
        _tensor.backward(self, grad, retain_graph)

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return make_tensor(self.data, False)

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def astype(self, dtype: Any) -> Tensor:
        """Cast to dtype (differentiable between float dtypes)."""
        return apply("cast", self, dtype=np.dtype(dtype))

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(", threshold=20)
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, dtype={self.data.dtype}{grad})"

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

    # ----- arithmetic
    def __add__(self, other): return apply("add", self, other)
    def __radd__(self, other): return apply("add", other, self)
    def __sub__(self, other): return apply("subtract", self, other)
    def __rsub__(self, other): return apply("subtract", other, self)
    def __mul__(self, other): return apply("multiply", self, other)
    def __rmul__(self, other): return apply("multiply", other, self)
    def __truediv__(self, other): return apply("divide", self, other)
    def __rtruediv__(self, other): return apply("divide", other, self)
    def __pow__(self, other): return apply("power", self, other)
    def __rpow__(self, other): return apply("power", other, self)
    def __matmul__(self, other): return apply("matmul", self, other)
    def __rmatmul__(self, other): return apply("matmul", other, self)
    def __neg__(self): return apply("negative", self)
    def __pos__(self): return self
    def __abs__(self): return apply("abs", self)
    def __getitem__(self, index): return apply("getitem", self, index=index)

    # ----- comparisons (not differentiable)
    def __eq__(self, other): return apply("equal", self, other)  # type: ignore[override]
    def __ne__(self, other): return apply("not_equal", self, other)  # type: ignore[override]
    def __lt__(self, other): return apply("less", self, other)
    def __le__(self, other): return apply("less_equal", self, other)
    def __gt__(self, other): return apply("greater", self, other)
    def __ge__(self, other): return apply("greater_equal", self, other)

    # ----- methods
    def sum(self, axis=None, keepdims=False): return apply("sum", self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return apply("mean", self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return apply("max", self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return apply("min", self, axis=axis, keepdims=keepdims)
    def exp(self): return apply("exp", self)
    def log(self): return apply("log", self)
    def sqrt(self): return apply("sqrt", self)
    def abs(self): return apply("abs", self)
    def clip(self, min=None, max=None): return apply("clip", self, low=min, high=max)
    def reshape(self, *shape): return apply("reshape", self, shape=_shape_arg(shape))
    def transpose(self, *axes): return apply("transpose", self, axes=_shape_arg(axes) or None)
    def permute(self, *axes): return apply("transpose", self, axes=_shape_arg(axes))
    def flatten(self, start_axis=0): return apply("flatten", self, start_axis=start_axis)
    def maximum(self, other): return apply("maximum", self, other)
    def minimum(self, other): return apply("minimum", self, other)
    def pad(self, pad_width, value=0.0): return apply("pad", self, pad_width=pad_width, value=value)
    def prod(self, axis=None, keepdims=False): return apply("prod", self, axis=axis, keepdims=keepdims)
    def cumsum(self, axis=None): return apply("cumsum", self, axis=axis)
    def sin(self): return apply("sin", self)
    def cos(self): return apply("cos", self)
    def tanh(self): return apply("tanh", self)
    def broadcast_to(self, *shape): return apply("broadcast_to", self, shape=_shape_arg(shape))
    def argmax(self, axis=None): return make_tensor(np.asarray(self.data.argmax(axis=axis)), False)
    def argmin(self, axis=None): return make_tensor(np.asarray(self.data.argmin(axis=axis)), False)


def _shape_arg(args: tuple) -> tuple:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Build a Tensor (same as Tensor(...))."""
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


@contextmanager
def no_grad() -> Iterator[None]:
    """Within the block ops record no graph (inference, optimizer updates)."""
    previous = set_grad_enabled(False)
    try:
        yield
    finally:
        set_grad_enabled(previous)


@contextmanager
def enable_grad() -> Iterator[None]:
    """Within the block ops record the graph even inside no_grad()."""
    previous = set_grad_enabled(True)
    try:
        yield
    finally:
        set_grad_enabled(previous)

"""What a layer owns (Weight: a Tensor with a name, trainable flag, regularizer, constraint) and accepts (InputSpec)."""
from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

from minigrad import validation
from minigrad._ext._tensor import TensorBase
from minigrad.errors import ShapeError
from minigrad.tensor import Tensor

__all__ = ["Weight", "InputSpec", "Shape", "new_weight"]

Shape = tuple[int | None, ...]


class Weight(Tensor):
    """A Tensor owned by a layer: name, trainable flag, optional regularizer and constraint."""

    __slots__ = ("name", "_trainable", "regularizer", "constraint")

    def __init__(self, data: np.ndarray, name: str, trainable: bool = True,
                 regularizer: Any = None, constraint: Any = None) -> None:
        super().__init__(data, requires_grad=bool(trainable))
        self.name = name
        self._trainable = bool(trainable)
        self.regularizer = regularizer
        self.constraint = constraint

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        self.requires_grad = bool(value)

    def assign(self, value: Any) -> None:
        """Overwrite the values in place (same shape); keeps views into flat optimizer buffers valid."""
        value = np.asarray(value.data if isinstance(value, TensorBase) else value)
        if value.shape != self.data.shape:
            raise ShapeError(f"weight '{self.name}': expected a value of shape {self.data.shape}, "
                             f"received shape {value.shape}")
        self.data[...] = value

    def assign_add(self, value: Any) -> None:
        """self += value in place (Keras' Variable.assign_add; value broadcasts to the weight's shape)."""
        self.assign(self.data + np.asarray(value.data if isinstance(value, TensorBase) else value))

    def assign_sub(self, value: Any) -> None:
        """self -= value in place (Keras' Variable.assign_sub)."""
        self.assign(self.data - np.asarray(value.data if isinstance(value, TensorBase) else value))

    def apply_constraint(self) -> None:
        """Project the values onto the constraint in place (optimizers call this after a step)."""
        if self.constraint is not None:
            self.data[...] = self.constraint(self.data)

    def __repr__(self) -> str:
        return f"<Weight '{self.name}' shape={self.data.shape} dtype={self.data.dtype} trainable={self._trainable}>"


def new_weight(owner: str, name: str, shape: Any, initializer: Any, dtype: np.dtype, trainable: bool,
               regularizer: Any, constraint: Any, fill: Any = None) -> Weight:
    """A Weight of shape filled by initializer (None: glorot_uniform), or by fill(shape, dtype) when
    given (load_model's stored arrays); errors name owner and weight."""
    from minigrad import constraints, initializers, regularizers

    dims = (shape,) if validation.is_int(shape) else tuple(shape)
    shape = validation.shape(dims, f"{owner}: weight '{name.rpartition('/')[2]}'", "shape")
    if math.prod(shape) * dtype.itemsize > sys.maxsize:
        raise ValueError(f"{owner}: weight '{name.rpartition('/')[2]}' of shape {shape} would hold more "
                         "bytes than any array can address")
    if fill is not None:
        values = np.asarray(fill(shape, dtype))
    else:
        init = initializers.get("glorot_uniform" if initializer is None else initializer)
        try:
            values = np.asarray(init(shape, dtype=dtype))
        except MemoryError as e:  # still a MemoryError (the size was asked for), but saying whose
            gib = math.prod(shape) * dtype.itemsize / 2**30
            raise MemoryError(f"{owner}: weight '{name.rpartition('/')[2]}' of shape {shape} needs "
                              f"{gib:.1f} GiB, more than this process can allocate") from e
    if values.shape != shape:
        raise ShapeError(f"{owner}: initializer for '{name.rpartition('/')[2]}' returned shape "
                         f"{values.shape}, expected {shape}")
    return Weight(np.asarray(values, dtype=dtype, order="C"), name, trainable,  # keeps 0-d (scalar) weights
                  regularizers.get(regularizer), constraints.get(constraint))


class InputSpec:
    """What a layer accepts: exact or minimum rank, and fixed sizes on some axes (known after build)."""

    def __init__(self, ndim: int | None = None, min_ndim: int | None = None,
                 axes: dict[int, int] | None = None) -> None:
        self.ndim, self.min_ndim, self.axes = ndim, min_ndim, dict(axes or {})

    def describe(self) -> str:
        parts = []
        if self.ndim is not None:
            parts.append(f"of rank {self.ndim}")
        elif self.min_ndim is not None:
            parts.append(f"of rank >= {self.min_ndim}")
        if self.axes:
            parts.append("with " + ", ".join(f"size {n} on axis {a}" for a, n in self.axes.items()))
        return " ".join(["input", *parts])

    def accepts(self, shape: Shape) -> bool:
        if self.ndim is not None and len(shape) != self.ndim:
            return False
        if self.min_ndim is not None and len(shape) < self.min_ndim:
            return False
        for axis, size in self.axes.items():
            if not -len(shape) <= axis < len(shape):
                return False
            if shape[axis] is not None and shape[axis] != size:
                return False
        return True

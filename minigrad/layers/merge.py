"""Merge layers: combine a list of tensors (Add and Concatenate make residual and multi-branch graphs)."""
from __future__ import annotations

from functools import reduce
from typing import Any

from minigrad.errors import ShapeError
from minigrad.layers.base import Layer, Shape, register
from minigrad.ops import apply
from minigrad.tensor import Tensor

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]


class _Merge(Layer):
    """Element-wise merge of >= 2 tensors of one shape."""

    _multi_input = True
    op = "add"
    arity: int | None = None  # exact number of inputs, or None for any >= 2

    def _check_shapes(self, shapes: list[Shape]) -> None:
        if self.arity is not None and len(shapes) != self.arity:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected {self.arity} inputs, "
                             f"received {len(shapes)}")
        first = tuple(shapes[0])
        for shape in shapes[1:]:
            if len(shape) != len(first) or any(a is not None and b is not None and a != b
                                               for a, b in zip(first[1:], tuple(shape)[1:])):
                raise ShapeError(f"{type(self).__name__} '{self.name}': expected inputs of one shape, "
                                 f"received shapes {[tuple(s) for s in shapes]}")

    def build(self, input_shape: list[Shape]) -> None:
        self._check_shapes(list(input_shape))

    def call(self, inputs: list[Tensor], training: bool = False) -> Tensor:
        self._check_shapes([x.shape for x in inputs])
        return reduce(lambda a, b: apply(self.op, a, b), inputs)

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        self._check_shapes(list(input_shape))
        return tuple(input_shape[0])


@register("add")
class Add(_Merge):
    """y = x1 + x2 + ..."""

    example_config = {}
    example_input_shape = [(2, 3), (2, 3)]


@register("subtract")
class Subtract(_Merge):
    """y = x1 - x2 (exactly two inputs)."""

    example_config = {}
    example_input_shape = [(2, 3), (2, 3)]

    op = "subtract"
    arity = 2


@register("multiply")
class Multiply(_Merge):
    """y = x1 * x2 * ..."""

    example_config = {}
    example_input_shape = [(2, 3), (2, 3)]

    op = "multiply"


@register("maximum")
class Maximum(_Merge):
    """y = element-wise max of the inputs."""

    example_config = {}
    example_input_shape = [(2, 3), (2, 3)]

    op = "maximum"


@register("minimum")
class Minimum(_Merge):
    """y = element-wise min of the inputs."""

    example_config = {}
    example_input_shape = [(2, 3), (2, 3)]

    op = "minimum"


@register("average")
class Average(_Merge):
    """y = (x1 + x2 + ...) / n."""

    example_config = {}
    example_input_shape = [(2, 3), (2, 3)]

    def call(self, inputs: list[Tensor], training: bool = False) -> Tensor:
        return super().call(inputs) * (1.0 / len(inputs))


@register("concatenate")
class Concatenate(_Merge):
    """y = inputs joined along axis (every other axis must agree)."""

    example_config = {"axis": -1}
    example_input_shape = [(2, 3), (2, 2)]

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Concatenate '{self.name}': axis must be an int, received {axis!r}")
        self.axis = axis

    def _check_shapes(self, shapes: list[Shape]) -> None:
        rank = len(shapes[0])
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ShapeError(f"Concatenate '{self.name}': axis {self.axis} is not a non-batch axis of inputs "
                             f"of rank {rank}")
        axis = self.axis % rank
        for shape in shapes[1:]:
            if len(shape) != rank or any(i != axis and a is not None and b is not None and a != b
                                         for i, (a, b) in enumerate(zip(shapes[0], shape)) if i > 0):
                raise ShapeError(f"Concatenate '{self.name}': inputs must agree on every axis but {self.axis}, "
                                 f"received shapes {[tuple(s) for s in shapes]}")

    def call(self, inputs: list[Tensor], training: bool = False) -> Tensor:
        self._check_shapes([x.shape for x in inputs])
        return apply("concatenate", *inputs, axis=self.axis % inputs[0].ndim)

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        self._check_shapes(list(input_shape))
        axis = self.axis % len(input_shape[0])
        sizes = [s[axis] for s in input_shape]
        out = list(input_shape[0])
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}

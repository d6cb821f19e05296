"""Merge layers: combine a list of tensors (Add and Concatenate make residual and multi-branch graphs),
and Keras' functional forms (`layers.add([a, b])`)."""
from __future__ import annotations

from functools import reduce
from typing import Any

from minigrad import validation
from minigrad.errors import ShapeError
from minigrad.layers.base import Layer, Shape, register
from minigrad.ops import apply
from minigrad.tensor import Tensor

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add", "subtract",
           "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


class _Merge(Layer):
    """Element-wise merge of >= 2 tensors of one shape."""

    _call_adds_losses = False  # its only losses come from its regularizers
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

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {}
    example_input_shape = [(2, 3), (2, 3)]

    def call(self, inputs: list[Tensor], training: bool = False) -> Tensor:
        return super().call(inputs) * (1.0 / len(inputs))


@register("concatenate")
class Concatenate(_Merge):
    """y = inputs joined along axis (every other axis must agree)."""

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"axis": -1}
    example_input_shape = [(2, 3), (2, 2)]

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = validation.integer(axis, f"Concatenate '{self.name}'", "axis")

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


@register("dot")
class Dot(_Merge):
    """Batched dot product of two inputs along `axes` (Keras' batch_dot): (N, n) . (N, n) -> (N, 1);
    (N, a, d) . (N, b, d) with axes=2 -> (N, a, b). normalize=True l2-normalises along axes first (cosine)."""

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"axes": 1}
    example_input_shape = [(2, 3), (2, 3)]
    arity = 2

    def __init__(self, axes: int | tuple[int, int] = -1, normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pair = validation.int_tuple(axes, 2, f"Dot '{self.name}'", "axes", low=None)
        self.axes, self.normalize = pair[0] if validation.is_int(axes) else list(pair), bool(normalize)
        self._pair = pair

    def _reduced(self, shapes: list[Shape]) -> tuple[int, int]:
        if len(shapes) != 2:
            raise ValueError(f"Dot '{self.name}': expected 2 inputs, received {len(shapes)}")
        a, b = (ax % len(s) for ax, s in zip(self._pair, shapes))
        if a == 0 or b == 0:
            raise ShapeError(f"Dot '{self.name}': axes {self._pair} must not include the batch axis")
        n, m = shapes[0][a], shapes[1][b]
        if n is not None and m is not None and n != m:
            raise ShapeError(f"Dot '{self.name}': axis {a} of {tuple(shapes[0])} and axis {b} of {tuple(shapes[1])} "
                             f"differ in size ({n} vs {m})")
        return a, b

    def _check_shapes(self, shapes: list[Shape]) -> None:
        self._reduced(shapes)

    def call(self, inputs: list[Tensor], training: bool = False) -> Tensor:
        from minigrad import ops

        a, b = self._reduced([x.shape for x in inputs])
        x1, x2 = inputs
        if self.normalize:
            x1, x2 = ops.normalize(x1, axis=a), ops.normalize(x2, axis=b)
        # (N, rest1, k) @ (N, k, rest2): one batched matmul, then the rest axes unfolded
        left = ops.moveaxis(x1, a, -1)
        right = ops.moveaxis(x2, b, 1)
        rest1, rest2 = left.shape[1:-1], right.shape[2:]
        y = apply("matmul", ops.reshape(left, (left.shape[0], -1, left.shape[-1])),
                  ops.reshape(right, (right.shape[0], right.shape[1], -1)))
        out = (y.shape[0], *rest1, *rest2)
        return ops.reshape(y, out if len(out) > 1 else (y.shape[0], 1))  # Keras keeps (N, 1) for vectors

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        a, b = self._reduced(list(input_shape))
        s1, s2 = tuple(input_shape[0]), tuple(input_shape[1])
        rest1 = [d for i, d in enumerate(s1) if i not in (0, a)]
        out = (s1[0], *rest1, *[d for i, d in enumerate(s2) if i not in (0, b)])
        return out if len(out) > 1 else (s1[0], 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


# Keras' functional forms: layers.add([a, b]) is Add()([a, b])
def add(inputs: list[Any], **kwargs: Any) -> Any:
    """Add(**kwargs)(inputs)."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """Subtract(**kwargs)(inputs)."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """Multiply(**kwargs)(inputs)."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """Average(**kwargs)(inputs)."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """Maximum(**kwargs)(inputs)."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """Minimum(**kwargs)(inputs)."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Concatenate(axis, **kwargs)(inputs)."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: list[Any], axes: int | tuple[int, int] = -1, normalize: bool = False, **kwargs: Any) -> Any:
    """Dot(axes, normalize, **kwargs)(inputs)."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)

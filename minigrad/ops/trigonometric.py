"""keras.ops trigonometric and hyperbolic functions (sin, cos, arctan, ... as ops; the rest composed)."""
from __future__ import annotations

from typing import Any

from minigrad._ext._tensor import apply
from minigrad.ops.core import as_tensor
from minigrad.tensor import Tensor

__all__ = ["sin", "cos", "tan", "sinh", "cosh", "tanh", "arctan", "arcsin", "arccos", "arctan2", "arcsinh",
           "arccosh", "arctanh"]


def sin(x: Any) -> Tensor:
    """Sine."""
    return apply("sin", x)


def cos(x: Any) -> Tensor:
    """Cosine."""
    return apply("cos", x)


def tan(x: Any) -> Tensor:
    """Tangent, sin(x) / cos(x)."""
    return apply("divide", apply("sin", x), apply("cos", x))


def sinh(x: Any) -> Tensor:
    """(exp(x) - exp(-x)) / 2."""
    return apply("multiply", apply("subtract", apply("exp", x), apply("exp", apply("negative", x))), 0.5)


def cosh(x: Any) -> Tensor:
    """(exp(x) + exp(-x)) / 2."""
    return apply("multiply", apply("add", apply("exp", x), apply("exp", apply("negative", x))), 0.5)


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    return apply("tanh", x)


def arctan(x: Any) -> Tensor:
    """Inverse tangent."""
    return apply("arctan", x)


def arcsin(x: Any) -> Tensor:
    """Inverse sine (|x| <= 1)."""
    return apply("arcsin", x)


def arccos(x: Any) -> Tensor:
    """Inverse cosine (|x| <= 1)."""
    return apply("arccos", x)


def arctan2(x1: Any, x2: Any) -> Tensor:
    """The angle of the point (x2, x1), in (-pi, pi]."""
    return apply("arctan2", x1, x2)


def arcsinh(x: Any) -> Tensor:
    """log(x + sqrt(x^2 + 1))."""
    x = as_tensor(x)
    return apply("log", apply("add", x, apply("sqrt", apply("add", apply("multiply", x, x), 1.0))))


def arccosh(x: Any) -> Tensor:
    """log(x + sqrt(x^2 - 1)) for x >= 1."""
    x = as_tensor(x)
    return apply("log", apply("add", x, apply("sqrt", apply("subtract", apply("multiply", x, x), 1.0))))


def arctanh(x: Any) -> Tensor:
    """0.5 log((1 + x) / (1 - x)) for |x| < 1."""
    return apply("multiply", apply("log", apply("divide", apply("add", x, 1.0), apply("subtract", 1.0, x))), 0.5)

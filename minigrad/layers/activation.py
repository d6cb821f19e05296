"""Activation layers with parameters: ReLU, LeakyReLU, ELU, Softmax (plain ones: layers.Activation)."""
from __future__ import annotations

import math
from typing import Any

from minigrad import activations
from minigrad.layers.base import Layer, register
from minigrad.tensor import Tensor

__all__ = ["ReLU", "LeakyReLU", "ELU", "Softmax"]


def _number(owner: str, name: str, value: Any, low: float | None = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{owner}: {name} must be a finite float, received {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{owner}: {name} must be >= {low}, received {value!r}")
    return float(value)


@register("re_lu", aliases=("relu",))
class ReLU(Layer):
    """y = min(x, max_value) for x >= threshold, else negative_slope * (x - threshold) (Keras ReLU)."""

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"max_value": 3.0, "negative_slope": 0.1}
    example_input_shape = (2, 3)

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = f"ReLU '{self.name}'"
        self.max_value = None if max_value is None else _number(owner, "max_value", max_value)
        self.negative_slope = _number(owner, "negative_slope", negative_slope)
        self.threshold = _number(owner, "threshold", threshold, low=None)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        return activations.relu(inputs, self.negative_slope, self.max_value, self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


@register("leaky_re_lu", aliases=("leaky_relu",))
class LeakyReLU(Layer):
    """y = x if x > 0 else negative_slope * x (Keras default slope 0.3; `alpha` is the Keras 2 name)."""

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"negative_slope": 0.2}
    example_input_shape = (2, 3)

    def __init__(self, negative_slope: float = 0.3, *, alpha: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        slope = negative_slope if alpha is None else alpha
        self.negative_slope = _number(f"LeakyReLU '{self.name}'", "negative_slope", slope)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        return activations.leaky_relu(inputs, self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


@register("elu")
class ELU(Layer):
    """y = x if x > 0 else alpha * (exp(x) - 1)."""

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"alpha": 0.5}
    example_input_shape = (2, 3)

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = _number(f"ELU '{self.name}'", "alpha", alpha)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        return activations.elu(inputs, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


@register("softmax")
class Softmax(Layer):
    """y = exp(x) / sum(exp(x)) along axis."""

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {}
    example_input_shape = (2, 3)

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Softmax '{self.name}': axis must be an int, received {axis!r}")
        self.axis = axis

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        return activations.softmax(inputs, axis=self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}

"""Activation layers with parameters: ReLU, LeakyReLU, ELU, Softmax (plain ones: layers.Activation)."""
from __future__ import annotations

from typing import Any

from minigrad import activations, validation
from minigrad.layers.base import Layer, register
from minigrad.tensor import Tensor

__all__ = ["ReLU", "LeakyReLU", "ELU", "Softmax"]


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
        self.max_value = validation.real(max_value, owner, "max_value", low=0, none=True)
        self.negative_slope = validation.real(negative_slope, owner, "negative_slope", low=0)
        self.threshold = validation.real(threshold, owner, "threshold")

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
        self.negative_slope = validation.real(slope, f"LeakyReLU '{self.name}'", "negative_slope", low=0)

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
        self.alpha = validation.real(alpha, f"ELU '{self.name}'", "alpha", low=0)

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
        self.axis = validation.integer(axis, f"Softmax '{self.name}'", "axis")

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        return activations.softmax(inputs, axis=self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}

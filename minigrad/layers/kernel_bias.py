"""Declared layer attributes resolved through a registry: the Keras kernel/bias arguments of Dense and Conv.

`self.kernel_initializer = "he_normal"` stores `initializers.get("he_normal")`, as Keras'
`self.kernel_initializer = initializers.get(kernel_initializer)` does, and `get_config()` serializes
the same attribute back through the same registry.
"""
from __future__ import annotations

from typing import Any

from minigrad import activations, constraints, initializers, regularizers

__all__ = ["Identifier", "KernelBias", "serialize_identifier"]


def serialize_identifier(module: Any, obj: Any) -> Any:
    """None, or an activation's name / an initializer's, regularizer's or constraint's registry dict."""
    return None if obj is None else module.serialize(obj)


class Identifier:
    """A layer attribute set from any identifier `module.get` accepts and stored resolved."""

    def __init__(self, module: Any) -> None:
        self.module = module  # activations, initializers, regularizers or constraints

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, layer: Any, owner: type | None = None) -> Any:
        return self if layer is None else layer.__dict__.get(self.name)

    def __set__(self, layer: Any, value: Any) -> None:
        try:
            layer.__dict__[self.name] = self.module.get(value)
        except (TypeError, ValueError) as e:  # the registries' messages do not know which layer asked
            raise type(e)(f"{type(layer).__name__} '{getattr(layer, 'name', '?')}': {e}") from e

    def serialize(self, layer: Any) -> Any:
        """The attribute's config entry (None stays None)."""
        return serialize_identifier(self.module, self.__get__(layer))


class KernelBias:
    """Mixin: Keras' activation, use_bias and kernel/bias initializer, regularizer and constraint."""

    activation = Identifier(activations)
    kernel_initializer = Identifier(initializers)
    bias_initializer = Identifier(initializers)
    kernel_regularizer = Identifier(regularizers)
    bias_regularizer = Identifier(regularizers)
    kernel_constraint = Identifier(constraints)
    bias_constraint = Identifier(constraints)
    use_bias: bool
    # the identifiers get_config() writes, in Keras' order (DepthwiseConv2D names its kernel 'depthwise');
    # activity_regularizer is declared by Layer itself
    kernel_bias_names: tuple[str, ...] = (
        "activation", "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
        "activity_regularizer", "kernel_constraint", "bias_constraint")

    def kernel_bias_config(self) -> dict[str, Any]:
        """use_bias and every declared identifier of kernel_bias_names, serialized through its registry."""
        cls = type(self)
        return {"use_bias": self.use_bias, **{name: getattr(cls, name).serialize(self)
                                              for name in self.kernel_bias_names}}

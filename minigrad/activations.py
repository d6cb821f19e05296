"""Activation functions by name: each is a callable Tensor -> Tensor built from registered ops.

`activations.get("relu")` returns the function; plugins add more through the `minigrad.activations`
entry-point group. `serialize(fn)` gives the registered name.
"""
from __future__ import annotations

from typing import Any, Callable

from minigrad.ops import apply
from minigrad.registry import Kind
from minigrad.tensor import Tensor

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "hard_sigmoid", "tanh", "softplus",
    "softsign", "silu", "swish", "softmax", "log_softmax", "exponential", "linear",
    "registry", "register", "get", "serialize", "deserialize",
]


class _Activations(Kind):
    """Activations are functions (or callable objects): get(None) is linear, a function saves as its name."""

    def get(self, identifier: Any) -> Callable[[Tensor], Tensor]:
        """None -> linear; a name ('relu', 'Swish', 'dist:name'), a callable or a serialized dict -> the activation."""
        return linear if identifier is None else super().get(identifier)

    def serialize(self, activation: Callable[[Tensor], Tensor]) -> str | dict[str, Any]:
        """The registered name (an object with get_config() serializes to a registry dict)."""
        if hasattr(activation, "get_config") and not isinstance(activation, type):
            return self.registry.serialize(activation)
        return self.registry.name_of(activation)[0]

    def deserialize(self, entry: str | dict[str, Any]) -> Callable[[Tensor], Tensor]:
        """Inverse of serialize()."""
        return self.get(entry) if isinstance(entry, str) else self.registry.deserialize(entry)


registry, register, get, serialize, deserialize = _Activations("activations", None, functions=True).api()


@register("relu")
def relu(x: Tensor, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> Tensor:
    """max(x, 0); Keras' general form: slope * (x - threshold) below threshold, clipped at max_value."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return apply("relu", x)
    if threshold == 0.0 and max_value is None:
        return apply("leaky_relu", x, negative_slope=float(negative_slope))
    x = x if isinstance(x, Tensor) else Tensor(x)
    below = (x - threshold) * float(negative_slope)
    y = apply("where", apply("greater_equal", x, threshold), x, below)
    return y if max_value is None else apply("minimum", y, float(max_value))


@register("relu6")
def relu6(x: Tensor) -> Tensor:
    """min(max(x, 0), 6)."""
    return apply("clip", x, low=0.0, high=6.0)


@register("leaky_relu")
def leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    """x if x > 0 else negative_slope * x (Keras' function default slope 0.2)."""
    return apply("leaky_relu", x, negative_slope=float(negative_slope))


@register("elu")
def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return apply("elu", x, alpha=float(alpha))


@register("selu")
def selu(x: Tensor) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants."""
    return apply("selu", x)


@register("gelu")
def gelu(x: Tensor, approximate: bool = False) -> Tensor:
    """x * Phi(x) (exact erf form unless approximate=True, the tanh form)."""
    return apply("gelu", x, approximate=bool(approximate))


@register("sigmoid")
def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return apply("sigmoid", x)


@register("hard_sigmoid")
def hard_sigmoid(x: Tensor) -> Tensor:
    """clip(x / 6 + 1 / 2, 0, 1) (Keras 3 definition)."""
    return apply("hard_sigmoid", x)


@register("tanh")
def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return apply("tanh", x)


@register("softplus")
def softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x))."""
    return apply("softplus", x)


@register("softsign")
def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return apply("divide", x, apply("add", apply("abs", x), 1.0))


@register("silu", aliases=("swish",))
def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return apply("silu", x)


swish = silu


@register("softmax")
def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along axis (last by default)."""
    return apply("softmax", x, axis=axis)


@register("log_softmax")
def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along axis."""
    return apply("log_softmax", x, axis=axis)


@register("exponential")
def exponential(x: Tensor) -> Tensor:
    """exp(x)."""
    return apply("exp", x)


@register("linear")
def linear(x: Tensor) -> Tensor:
    """The identity (a layer without activation is linear)."""
    return x

"""Activation functions by name: each is a callable Tensor -> Tensor built from registered ops.

`activations.get("relu")` returns the function; plugins add more through the `minigrad.activations`
entry-point group. `serialize(fn)` gives the registered name.
"""
from __future__ import annotations

from typing import Any, Callable

from minigrad.ops import apply
from minigrad.registry import Registry
from minigrad.tensor import Tensor

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "hard_sigmoid", "tanh", "softplus",
    "softsign", "silu", "swish", "softmax", "log_softmax", "exponential", "linear",
    "registry", "register", "get", "serialize", "deserialize",
]

registry = Registry("activations", validate=callable)


def register(name: str, *, aliases: tuple[str, ...] = (), override: bool = False):
    """Decorator: register an activation (a function or callable class) under name."""
    return registry.register(name, aliases=aliases, override=override)


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


def get(identifier: Any) -> Callable[[Tensor], Tensor]:
    """None -> linear; a name ('relu', 'Swish', 'dist:name') or a callable -> the activation."""
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        identifier = registry.get(identifier)
        return identifier() if isinstance(identifier, type) else identifier
    if callable(identifier):
        return identifier
    raise TypeError(f"activations.get: expected None, a name or a callable, received {identifier!r}")


def serialize(activation: Callable[[Tensor], Tensor]) -> str | dict[str, Any]:
    """The registered name (an object with get_config() serializes to a registry dict)."""
    if hasattr(activation, "get_config") and not isinstance(activation, type):
        return registry.serialize(activation)
    name, _ = registry.name_of(activation)
    return name


def deserialize(entry: str | dict[str, Any]) -> Callable[[Tensor], Tensor]:
    """Inverse of serialize()."""
    return get(entry) if isinstance(entry, str) else registry.deserialize(entry)

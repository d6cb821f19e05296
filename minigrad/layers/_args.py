"""Keras-style layer arguments: data_format, conv output lengths, the kernel/bias identifiers."""
from __future__ import annotations

from typing import Any

from minigrad import activations, constraints, initializers, regularizers, validation

__all__ = ["data_format", "conv_output_length", "serialize_identifier", "resolve_kernel_bias", "kernel_bias_config"]


def data_format(layer: str, value: Any) -> str:
    """None -> 'channels_last'; otherwise 'channels_last' or 'channels_first' (any case)."""
    formats = ("channels_last", "channels_first")
    return formats[0] if value is None else validation.choice(value, formats, layer, "data_format", fold_case=True)


def conv_output_length(length: int | None, kernel: int, padding: str, stride: int,
                       dilation: int = 1) -> int | None:
    """floor((in - d*(k-1) - 1) / s) + 1 for 'valid' (and 'causal'), ceil(in / s) for 'same'."""
    if length is None:
        return None
    if padding == "same":
        return -(-length // stride)
    effective = dilation * (kernel - 1) + 1
    if padding == "causal":
        length += effective - 1
    return (length - effective) // stride + 1


def serialize_identifier(module: Any, obj: Any) -> Any:
    """None, or an activation's name / an initializer's, regularizer's or constraint's registry dict."""
    return None if obj is None else module.serialize(obj)


def resolve_kernel_bias(layer: Any, kernel: str, activation: Any, use_bias: Any, kernel_initializer: Any,
                        bias_initializer: Any, kernel_regularizer: Any, bias_regularizer: Any,
                        activity_regularizer: Any, kernel_constraint: Any, bias_constraint: Any) -> None:
    """Set activation, use_bias and the `<kernel>`/bias initializer, regularizer, constraint on layer."""
    try:
        _resolve_kernel_bias(layer, kernel, activation, use_bias, kernel_initializer, bias_initializer,
                             kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
                             bias_constraint)
    except (TypeError, ValueError) as e:  # the registries' messages do not know which layer asked
        raise type(e)(f"{type(layer).__name__} '{getattr(layer, 'name', '?')}': {e}") from e


def _resolve_kernel_bias(layer: Any, kernel: str, activation: Any, use_bias: Any, kernel_initializer: Any,
                         bias_initializer: Any, kernel_regularizer: Any, bias_regularizer: Any,
                         activity_regularizer: Any, kernel_constraint: Any, bias_constraint: Any) -> None:
    layer.activation = activations.get(activation)
    layer.use_bias = bool(use_bias)
    setattr(layer, f"{kernel}_initializer", initializers.get(kernel_initializer))
    layer.bias_initializer = initializers.get(bias_initializer)
    setattr(layer, f"{kernel}_regularizer", regularizers.get(kernel_regularizer))
    layer.bias_regularizer = regularizers.get(bias_regularizer)
    layer.activity_regularizer = regularizers.get(activity_regularizer)
    setattr(layer, f"{kernel}_constraint", constraints.get(kernel_constraint))
    layer.bias_constraint = constraints.get(bias_constraint)


def kernel_bias_config(layer: Any, kernel: str = "kernel") -> dict[str, Any]:
    """The config entries resolve_kernel_bias() set, serialized through their registries."""
    return {
        "activation": activations.serialize(layer.activation), "use_bias": layer.use_bias,
        f"{kernel}_initializer": initializers.serialize(getattr(layer, f"{kernel}_initializer")),
        "bias_initializer": initializers.serialize(layer.bias_initializer),
        f"{kernel}_regularizer": serialize_identifier(regularizers, getattr(layer, f"{kernel}_regularizer")),
        "bias_regularizer": serialize_identifier(regularizers, layer.bias_regularizer),
        "activity_regularizer": serialize_identifier(regularizers, layer.activity_regularizer),
        f"{kernel}_constraint": serialize_identifier(constraints, getattr(layer, f"{kernel}_constraint")),
        "bias_constraint": serialize_identifier(constraints, layer.bias_constraint),
    }

"""Keras-style layer arguments: data_format and conv output lengths."""
from __future__ import annotations

from typing import Any

from minigrad import validation

__all__ = ["data_format", "conv_output_length"]


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

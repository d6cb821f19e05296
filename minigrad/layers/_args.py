"""Validation of Keras-style layer arguments (kernel sizes, strides, padding, data_format)."""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["int_tuple", "padding_mode", "data_format", "conv_output_length", "positive_int"]


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def positive_int(layer: str, arg: str, value: Any) -> int:
    """A positive int, or a ValueError/TypeError naming the layer and argument."""
    if not _is_int(value):
        raise TypeError(f"{layer}: {arg} must be a positive int, received {value!r}")
    if value < 1:
        raise ValueError(f"{layer}: {arg} must be a positive int, received {value!r}")
    return int(value)


def int_tuple(layer: str, arg: str, value: Any, rank: int) -> tuple[int, ...]:
    """An int or `rank` positive ints -> a tuple of `rank` ints (Keras' normalize_tuple)."""
    values = (value,) * rank if _is_int(value) else value
    if not isinstance(values, (tuple, list)) or len(values) != rank or not all(_is_int(v) for v in values):
        raise TypeError(f"{layer}: {arg} must be an int or a tuple of {rank} ints, received {value!r}")
    if min(values) < 1:
        raise ValueError(f"{layer}: {arg} must hold positive ints, received {value!r}")
    return tuple(int(v) for v in values)


def padding_mode(layer: str, value: Any, allowed: tuple[str, ...] = ("valid", "same")) -> str:
    """'valid' / 'same' (any case) -> lower case; anything else is a ValueError listing the choices."""
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"{layer}: padding must be one of {', '.join(repr(a) for a in allowed)}, "
                         f"received {value!r}")
    return value.lower()


def data_format(layer: str, value: Any) -> str:
    """None -> 'channels_last'; otherwise 'channels_last' or 'channels_first'."""
    if value is None:
        return "channels_last"
    if not isinstance(value, str) or value.lower() not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer}: data_format must be 'channels_last' or 'channels_first', received {value!r}")
    return value.lower()


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

"""Pooling layers (Keras signatures): Max/AveragePooling 1D and 2D through the pool ops, and global pooling."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import validation
from minigrad.errors import ShapeError
from minigrad.layers._args import conv_output_length
from minigrad.layers._args import data_format as check_data_format
from minigrad.layers.base import InputSpec, Layer, Shape, register
from minigrad.ops import apply
from minigrad.tensor import Tensor

__all__ = ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D"]


class _Pooling(Layer):
    """Windows of pool_size every strides (default: pool_size); 'valid' drops the incomplete edge windows."""

    _call_adds_losses = False  # its only losses come from its regularizers
    rank = 2
    op = "max_pool2d"

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.pool_size = validation.int_tuple(pool_size, self.rank, owner, "pool_size")
        self.strides = self.pool_size if strides is None else validation.int_tuple(strides, self.rank, owner, "strides")
        self.padding = validation.choice(padding, ("valid", "same"), owner, "padding", fold_case=True)
        self.data_format = check_data_format(owner, data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        spatial = input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:]
        out = []
        for size, k, s in zip(spatial, self.pool_size, self.strides):
            length = conv_output_length(size, k, self.padding, s)
            if length is not None and length < 1:
                raise ShapeError(f"{type(self).__name__} '{self.name}': pool_size {self.pool_size} does not fit "
                                 f"an input of shape {tuple(input_shape)} with padding='{self.padding}'")
            out.append(length)
        if self.data_format == "channels_last":
            return (input_shape[0], *out, input_shape[-1])
        return (input_shape[0], input_shape[1], *out)

    def build(self, input_shape: Shape) -> None:
        self.compute_output_shape(input_shape)  # fails now if the window does not fit

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        one = (lambda v: v) if self.rank > 1 else (lambda v: v[0])
        return apply(self.op, inputs, pool_size=one(self.pool_size), strides=one(self.strides),
                     padding=self.padding, data_format=self.data_format)

    def get_config(self) -> dict[str, Any]:
        one = list if self.rank > 1 else (lambda v: v[0])
        return {**super().get_config(), "pool_size": one(self.pool_size), "strides": one(self.strides),
                "padding": self.padding, "data_format": self.data_format}


@register("max_pooling2d", aliases=("max_pool2d", "MaxPool2D"))
class MaxPooling2D(_Pooling):
    """Window maxima over (N, H, W, C) (or (N, C, H, W)); pool_size=(2, 2) halves H and W (floor)."""

    example_config = {"pool_size": 2}
    example_input_shape = (2, 4, 4, 2)

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register("average_pooling2d", aliases=("avg_pool2d", "AvgPool2D"))
class AveragePooling2D(MaxPooling2D):
    """Window means over (N, H, W, C) (or (N, C, H, W)); 'same' windows average their valid elements."""

    example_config = {"pool_size": 2, "strides": 1, "padding": "same"}
    example_input_shape = (2, 3, 3, 2)

    op = "avg_pool2d"


@register("max_pooling1d", aliases=("max_pool1d", "MaxPool1D"))
class MaxPooling1D(_Pooling):
    """Window maxima over (N, L, C) (or (N, C, L))."""

    example_config = {"pool_size": 2}
    example_input_shape = (2, 4, 3)

    rank = 1
    op = "max_pool1d"

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str = "channels_last", **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register("average_pooling1d", aliases=("avg_pool1d", "AvgPool1D"))
class AveragePooling1D(MaxPooling1D):
    """Window means over (N, L, C) (or (N, C, L))."""

    example_config = {"pool_size": 2}
    example_input_shape = (2, 4, 3)

    op = "avg_pool1d"


class _GlobalPooling(Layer):
    """Reduce every spatial axis: (N, ..., C) -> (N, C), or (N, 1, ..., 1, C) with keepdims."""

    _call_adds_losses = False  # its only losses come from its regularizers
    rank = 2
    op = "global_avg_pool"

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = check_data_format(f"{type(self).__name__} '{self.name}'", data_format)
        self.keepdims = validation.boolean(keepdims, f"{type(self).__name__} '{self.name}'", "keepdims")
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _axes(self) -> tuple[int, ...]:
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        y = apply(self.op, inputs, data_format=self.data_format)
        if self.keepdims:
            y = apply("reshape", y, shape=(inputs.shape[0], *self.compute_output_shape(inputs.shape)[1:]))
        return y

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


@register("global_average_pooling2d", aliases=("GlobalAvgPool2D", "global_avg_pool2d"))
class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over H and W: (N, H, W, C) -> (N, C)."""

    example_config = {}
    example_input_shape = (2, 3, 3, 2)


@register("global_max_pooling2d", aliases=("GlobalMaxPool2D", "global_max_pool2d"))
class GlobalMaxPooling2D(_GlobalPooling):
    """Max over H and W: (N, H, W, C) -> (N, C); tied maxima share the gradient equally (as in Keras)."""

    example_config = {"keepdims": True}
    example_input_shape = (2, 3, 3, 2)

    op = "global_max_pool"


@register("global_average_pooling1d", aliases=("GlobalAvgPool1D", "global_avg_pool1d"))
class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over L: (N, L, C) -> (N, C)."""

    example_config = {}
    example_input_shape = (2, 4, 2)

    rank = 1

    def __init__(self, data_format: str = "channels_last", keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(data_format, keepdims, **kwargs)


@register("global_max_pooling1d", aliases=("GlobalMaxPool1D", "global_max_pool1d"))
class GlobalMaxPooling1D(GlobalAveragePooling1D):
    """Max over L: (N, L, C) -> (N, C)."""

    example_config = {}
    example_input_shape = (2, 4, 2)

    op = "global_max_pool"

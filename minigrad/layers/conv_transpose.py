"""Transposed convolution layers: Conv2DTranspose and Conv1DTranspose (Keras signatures and shapes).

Output length per spatial axis (Keras' deconv_output_length, with k the dilated kernel size):
'valid' gives in * s + max(k - s, 0), 'same' gives in * s; with output_padding p,
(in - 1) * s + k - 2 * pad + p where pad is k // 2 for 'same' and 0 for 'valid'.
"""
from __future__ import annotations

from typing import Any

from minigrad import validation
from minigrad.errors import ShapeError
from minigrad.layers.base import Shape, register
from minigrad.layers.conv import _Conv
from minigrad.ops import apply
from minigrad.ops.transposed_conv import transpose_output_length
from minigrad.tensor import Tensor

__all__ = ["Conv1DTranspose", "Conv2DTranspose"]


class _ConvTranspose(_Conv):
    """Shared transposed convolution: kernel (*kernel_size, filters, in_channels)."""

    _call_adds_losses = False  # its only losses come from its regularizers
    op = "conv2d_transpose"

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1, activation,
                         use_bias, **kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        pads = None if output_padding is None else validation.int_tuple(output_padding, self.rank, owner,
                                                                        "output_padding", low=0)
        self.output_padding = pads
        if pads is not None and any(p >= s for p, s in zip(pads, self.strides)):
            raise ValueError(f"{owner}: output_padding {self.output_padding} must be smaller than "
                             f"strides {self.strides}")

    def _kernel_shape(self, channels: int) -> tuple[int, ...]:
        return (*self.kernel_size, self.filters, channels)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = []
        pads = self.output_padding or (None,) * self.rank
        for size, k, s, d, p in zip(self._spatial(input_shape), self.kernel_size, self.strides,
                                    self.dilation_rate, pads):
            length = transpose_output_length(size, k, self.padding, p, s, d)
            if length is not None and length < 1:
                raise ShapeError(f"{type(self).__name__} '{self.name}': no output for input shape "
                                 f"{tuple(input_shape)} with output_padding {self.output_padding}")
            out.append(length)
        if self.data_format == "channels_last":
            return (input_shape[0], *out, self.filters)
        return (input_shape[0], self.filters, *out)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        args = (inputs, self.kernel) if self.bias is None else (inputs, self.kernel, self.bias)
        one = (lambda v: v) if self.rank > 1 else (lambda v: v[0])
        y = apply(self.op, *args, strides=one(self.strides), padding=self.padding,
                  output_padding=None if self.output_padding is None else one(self.output_padding),
                  dilation=one(self.dilation_rate), data_format=self.data_format)
        return self.activation(y)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["groups"]  # Keras' transposed convs have no groups
        one = (lambda v: v[0]) if self.rank == 1 else list
        config["output_padding"] = None if self.output_padding is None else one(self.output_padding)
        return config


@register("conv2d_transpose", aliases=("convolution2d_transpose", "Convolution2DTranspose"))
class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution of (N, H, W, C) (or (N, C, H, W)); kernel (kh, kw, filters, C)."""

    example_config = {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "tanh"}
    example_input_shape = (2, 3, 3, 2)

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = (1, 1),
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         activation, use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, **kwargs)


@register("conv1d_transpose", aliases=("convolution1d_transpose", "Convolution1DTranspose"))
class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution of (N, L, C) (or (N, C, L)); kernel (k, filters, C)."""

    example_config = {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1}
    example_input_shape = (2, 4, 3)

    rank = 1
    op = "conv1d_transpose"

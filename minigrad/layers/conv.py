"""Convolution layers: Conv2D, Conv1D, DepthwiseConv2D (Keras signatures, plus groups), all via conv ops.

Output length per spatial axis: 'valid' gives floor((in - d*(k-1) - 1) / s) + 1, 'same' gives
ceil(in / s). Unlike Keras, strides > 1 together with dilation_rate > 1 is allowed (as in PyTorch):
the dilated kernel is simply placed every `s` positions.
"""
from __future__ import annotations

from typing import Any

from minigrad import activations, constraints, initializers, regularizers, validation
from minigrad.errors import ShapeError
from minigrad.layers._args import conv_output_length
from minigrad.layers._args import data_format as check_data_format
from minigrad.layers.base import InputSpec, Layer, Shape, register
from minigrad.layers.kernel_bias import Identifier, KernelBias
from minigrad.ops import apply
from minigrad.tensor import Tensor

__all__ = ["Conv1D", "Conv2D", "DepthwiseConv2D"]


class _Conv(KernelBias, Layer):
    """Shared N-d convolution: argument checks, weight creation, output shape, config."""

    _call_adds_losses = False  # its only losses come from its regularizers
    rank = 2
    op = "conv2d"
    paddings: tuple[str, ...] = ("valid", "same")

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.filters = validation.integer(filters, owner, "filters", low=1)
        self.kernel_size = validation.int_tuple(kernel_size, self.rank, owner, "kernel_size")
        self.strides = validation.int_tuple(strides, self.rank, owner, "strides")
        self.padding = validation.choice(padding, self.paddings, owner, "padding", fold_case=True)
        self.data_format = check_data_format(owner, data_format)
        self.dilation_rate = validation.int_tuple(dilation_rate, self.rank, owner, "dilation_rate")
        self.groups = validation.integer(groups, owner, "groups", low=1)
        if self.filters % self.groups:
            raise ValueError(f"{owner}: filters ({self.filters}) must be divisible by groups ({self.groups})")
        self.activation, self.use_bias = activation, bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.kernel = self.bias = None

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _in_channels(self, input_shape: Shape) -> int:
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ShapeError(f"{type(self).__name__} '{self.name}': the channel axis of the input must be "
                             f"known (data_format='{self.data_format}'), received shape {tuple(input_shape)}")
        if channels % self.groups:
            raise ShapeError(f"{type(self).__name__} '{self.name}': input channels ({channels}) must be "
                             f"divisible by groups ({self.groups}), received shape {tuple(input_shape)}")
        return channels

    def _kernel_shape(self, channels: int) -> tuple[int, ...]:
        return (*self.kernel_size, channels // self.groups, self.filters)

    def build(self, input_shape: Shape) -> None:
        channels = self._in_channels(input_shape)
        self.compute_output_shape(input_shape)  # fails now if the kernel does not fit the input
        self.kernel = self.add_weight("kernel", self._kernel_shape(channels), self.kernel_initializer,
                                      self.kernel_regularizer, self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                        self.bias_regularizer, self.bias_constraint)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})

    def _spatial(self, input_shape: Shape) -> tuple[int | None, ...]:
        return tuple(input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:])

    def _out_channels(self, input_shape: Shape) -> int:
        return self.filters

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        out = []
        for size, k, s, d in zip(self._spatial(input_shape), self.kernel_size, self.strides, self.dilation_rate):
            length = conv_output_length(size, k, self.padding, s, d)
            if length is not None and length < 1:
                raise ShapeError(
                    f"{type(self).__name__} '{self.name}': kernel_size {self.kernel_size} with dilation_rate "
                    f"{self.dilation_rate} does not fit an input of shape {tuple(input_shape)} with "
                    f"padding='{self.padding}'")
            out.append(length)
        filters = self._out_channels(input_shape)
        if self.data_format == "channels_last":
            return (input_shape[0], *out, filters)
        return (input_shape[0], filters, *out)

    def _convolve(self, inputs: Tensor, kernel: Tensor, padding: str | None = None) -> Tensor:
        args = (inputs, kernel) if self.bias is None else (inputs, kernel, self.bias)
        one = (lambda v: v) if self.rank > 1 else (lambda v: v[0])  # conv1d takes plain ints
        # relu runs inside the conv kernel's output pass: one sweep over y instead of two
        fused = {"activation": "relu"} if self.activation is activations.relu else {}
        y = apply(self.op, *args, strides=one(self.strides), padding=padding or self.padding,
                  dilation=one(self.dilation_rate), groups=self.groups, data_format=self.data_format,
                  **fused)
        return y if fused else self.activation(y)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        return self._convolve(inputs, self.kernel)

    def get_config(self) -> dict[str, Any]:
        one = (lambda v: v[0]) if self.rank == 1 else list
        return {
            **super().get_config(), "filters": self.filters, "kernel_size": one(self.kernel_size),
            "strides": one(self.strides), "padding": self.padding, "data_format": self.data_format,
            "dilation_rate": one(self.dilation_rate), "groups": self.groups,
            **self.kernel_bias_config(),
        }


@register("conv2d", aliases=("convolution2d", "Convolution2D"))
class Conv2D(_Conv):
    """2-D cross-correlation over (N, H, W, C) (or (N, C, H, W)); kernel (kh, kw, C/groups, filters).

    Keras' signature plus `groups`. strides > 1 with dilation_rate > 1 is allowed (Keras refuses it,
    PyTorch allows it): the dilated kernel is placed every `strides` positions.
    """

    example_config = {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same", "activation": "tanh"}
    example_input_shape = (2, 3, 3, 2)

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = (1, 1), groups: int = 1,
                 activation: Any = None, use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, bias_constraint: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, groups, activation,
                         use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


@register("conv1d", aliases=("convolution1d", "Convolution1D"))
class Conv1D(_Conv):
    """1-D cross-correlation over (N, L, C) (or (N, C, L)); kernel (k, C/groups, filters).

    padding='causal' left-pads by dilation * (k - 1) so output t sees inputs <= t only.
    """

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"filters": 2, "kernel_size": 2, "padding": "causal", "dilation_rate": 2}
    example_input_shape = (2, 5, 2)

    rank = 1
    op = "conv1d"
    paddings = ("valid", "same", "causal")

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str = "channels_last", dilation_rate: Any = 1, groups: int = 1,
                 activation: Any = None, use_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, groups,
                         activation, use_bias, **kwargs)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if self.padding != "causal":
            return self._convolve(inputs, self.kernel)
        # the conv plan pads virtually: a padded copy of the input would be as long as the
        # dilated kernel (32 GiB for dilation_rate=2**31, found by the fuzz harness)
        left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
        return self._convolve(inputs, self.kernel, padding=(left, 0))


@register("depthwise_conv2d")
class DepthwiseConv2D(_Conv):
    """Each input channel convolved with its own depth_multiplier filters: groups = C, kernel (kh, kw, C, m).

    Output channel c * depth_multiplier + j comes from input channel c, as in Keras.
    """

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"kernel_size": 2, "depth_multiplier": 2}
    example_input_shape = (2, 3, 3, 2)
    depthwise_initializer = Identifier(initializers)
    depthwise_regularizer = Identifier(regularizers)
    depthwise_constraint = Identifier(constraints)
    kernel_bias_names = ("activation", "depthwise_initializer", "bias_initializer", "depthwise_regularizer",
                         "bias_regularizer", "activity_regularizer", "depthwise_constraint", "bias_constraint")

    def __init__(self, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None, dilation_rate: Any = (1, 1),
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None,
                 depthwise_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        self.depth_multiplier = validation.integer(depth_multiplier, "DepthwiseConv2D", "depth_multiplier", low=1)
        # filters and groups are placeholders until build() knows the input channels
        super().__init__(1, kernel_size, strides, padding, data_format, dilation_rate, 1, activation, use_bias,
                         depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)
        self.depthwise_initializer = self.kernel_initializer
        self.depthwise_regularizer = self.kernel_regularizer
        self.depthwise_constraint = self.kernel_constraint
        self.depthwise_kernel = None

    def build(self, input_shape: Shape) -> None:
        channels = self._in_channels(input_shape)
        self.groups, self.filters = channels, channels * self.depth_multiplier
        self.compute_output_shape(input_shape)  # fails now if the kernel does not fit the input
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", (*self.kernel_size, channels, self.depth_multiplier),
            self.depthwise_initializer, self.depthwise_regularizer, self.depthwise_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer,
                                        self.bias_regularizer, self.bias_constraint)
        self.input_spec = InputSpec(ndim=4, axes={self._channel_axis: channels})

    def _out_channels(self, input_shape: Shape) -> int | None:
        channels = input_shape[self._channel_axis]
        return None if channels is None else channels * self.depth_multiplier

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        # (kh, kw, C, m) -> (kh, kw, 1, C * m) is exactly the grouped layout (filters of group c first)
        kernel = apply("reshape", self.depthwise_kernel, shape=(*self.kernel_size, 1, self.filters))
        return self._convolve(inputs, kernel)

    def get_config(self) -> dict[str, Any]:
        config = Layer.get_config(self)
        return {
            **config, "kernel_size": list(self.kernel_size), "strides": list(self.strides),
            "padding": self.padding, "depth_multiplier": self.depth_multiplier,
            "data_format": self.data_format, "dilation_rate": list(self.dilation_rate),
            **self.kernel_bias_config(),
        }

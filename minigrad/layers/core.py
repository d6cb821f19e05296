"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, InputLayer and the Input() function."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from minigrad import activations, validation
from minigrad import random as _random
from minigrad.errors import ShapeError
from minigrad.layers._args import data_format as check_data_format
from minigrad.layers.base import InputSpec, Layer, Shape, register
from minigrad.layers.kernel_bias import KernelBias
from minigrad.layers.symbolic import SymbolicTensor
from minigrad.ops import apply
from minigrad.tensor import Tensor

__all__ = ["Dense", "Activation", "Dropout", "Flatten", "Reshape", "InputLayer", "Input"]


@register("dense")
class Dense(KernelBias, Layer):
    """y = activation(x @ kernel + bias) on the last axis of any rank >= 2; kernel (in, units)."""

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"units": 3, "activation": "tanh", "kernel_regularizer": "l2"}
    example_input_shape = (2, 4)

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = validation.integer(units, f"Dense '{self.name}'", "units", low=1)
        self.activation, self.use_bias = activation, bool(use_bias)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self.input_spec = InputSpec(min_ndim=2)
        self.kernel = self.bias = None

    def build(self, input_shape: Shape) -> None:
        in_features = input_shape[-1]
        if in_features is None:
            raise ShapeError(f"Dense '{self.name}': the last axis of the input must be known, "
                             f"received shape {tuple(input_shape)}")
        self.kernel = self.add_weight(shape=(in_features, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_features})

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        y = apply("matmul", inputs, self.kernel)
        if self.bias is not None:
            y = apply("add", y, self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units, **self.kernel_bias_config()}


@register("activation")
class Activation(Layer):
    """y = activation(x), the activation given by name or as a callable."""

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"activation": "tanh"}
    example_input_shape = (2, 3)

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        return self.activation(inputs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


@register("dropout")
class Dropout(Layer):
    """Training: zero each element with probability rate and scale the rest by 1 / (1 - rate); else identity.

    The mask comes from `minigrad.random.generator()` (or a generator of its own when `seed` is
    given); `noise_shape` shares one mask value along axes of size 1 (None takes the input's size).
    """

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"rate": 0.5}
    example_input_shape = (2, 3)

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = f"Dropout '{self.name}'"
        self.rate = validation.real(rate, owner, "rate", low=0, high=1, high_open=True)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = validation.integer(seed, owner, "seed", low=0, none=True)
        self._rng = None if seed is None else np.random.default_rng(self.seed)

    def _mask_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape) or any(
                n is not None and n not in (1, s) for n, s in zip(self.noise_shape, shape)):
            raise ShapeError(f"Dropout '{self.name}': noise_shape {self.noise_shape} does not fit an input "
                             f"of shape {shape}")
        return tuple(s if n is None else n for n, s in zip(self.noise_shape, shape))

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if not training or self.rate == 0.0:
            return inputs
        rng = self._rng or _random.generator()
        keep = rng.random(self._mask_shape(inputs.shape)) >= self.rate
        mask = keep.astype(inputs.dtype) * np.asarray(1.0 / (1.0 - self.rate), dtype=inputs.dtype)
        return apply("multiply", inputs, mask)

    def get_config(self) -> dict[str, Any]:
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise, "seed": self.seed}


@register("flatten")
class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...); channels_first inputs are flattened in channels_last order."""

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {}
    example_input_shape = (2, 2, 3)

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = check_data_format(f"Flatten '{self.name}'", data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if inputs.ndim == 1:  # (N,) -> (N, 1), as Keras
            return apply("reshape", inputs, shape=(-1, 1))
        if self.data_format == "channels_first" and inputs.ndim > 2:
            # keep weight order identical to channels_last models (Keras does the same)
            inputs = apply("transpose", inputs, axes=(0, *range(2, inputs.ndim), 1))
        return apply("flatten", inputs, start_axis=1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


@register("reshape")
class Reshape(Layer):
    """(N, ...) -> (N, *target_shape); one entry of target_shape may be -1 (inferred)."""

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"target_shape": [3, 2]}
    example_input_shape = (2, 6)

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = f"Reshape '{self.name}'"
        target = validation.shape(target_shape, owner, "target_shape", low=-1)
        if target.count(-1) > 1 or 0 in target:
            raise ValueError(f"{owner}: target_shape must hold positive ints and at most one -1, "
                             f"received {target_shape!r}")
        self.target_shape = target
        self.input_spec = InputSpec(min_ndim=1)

    def _resolve(self, input_shape: Shape) -> Shape:
        rest = input_shape[1:]
        if None in rest:
            return tuple(None if d == -1 else d for d in self.target_shape)
        size, known = math.prod(rest), math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and size % known) or (-1 not in self.target_shape and size != known):
            raise ShapeError(f"Reshape '{self.name}': cannot reshape an input of shape {tuple(input_shape)} "
                             f"({size} values per sample) to target_shape {self.target_shape}")
        return tuple(size // known if d == -1 else d for d in self.target_shape)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        return apply("reshape", inputs, shape=(inputs.shape[0], *self._resolve(inputs.shape)))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], *self._resolve(input_shape))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


@register("input_layer")
class InputLayer(Layer):
    """Declares the model input: checks every batch against (batch_size, *shape) and passes it on."""

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"shape": [3]}
    example_input_shape = (2, 3)

    def __init__(self, shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 **kwargs: Any) -> None:
        if shape is not None:
            if kwargs.get("input_shape") is not None:
                raise TypeError("InputLayer: pass shape or input_shape, not both")
            kwargs["input_shape"] = shape
        if kwargs.get("input_shape") is None:
            raise TypeError("InputLayer: shape is required, e.g. InputLayer(shape=(28, 28, 1))")
        super().__init__(**kwargs)
        self.batch_size = validation.integer(batch_size, f"InputLayer '{self.name}'", "batch_size", low=1, none=True)
        self._batch_input_shape = (self.batch_size, *self._batch_input_shape[1:])
        dims = self._batch_input_shape
        self.input_spec = InputSpec(ndim=len(dims), axes={i: d for i, d in enumerate(dims) if d is not None})
        self.built = True

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        return inputs

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["shape"] = config.pop("input_shape")
        return {**config, "batch_size": self.batch_size}


def Input(shape: Sequence[int | None] | None = None, batch_size: int | None = None, dtype: Any = "float32",
          name: str | None = None, batch_shape: Sequence[int | None] | None = None) -> Any:
    """A symbolic model input of shape (batch_size, *shape) for the functional API (Keras' Input)."""
    if (shape is None) == (batch_shape is None):
        raise TypeError("Input: pass exactly one of shape (without the batch axis) or batch_shape")
    given = shape if batch_shape is None else batch_shape
    if not isinstance(given, (tuple, list)):
        raise TypeError(f"Input: shape must be a tuple such as (28, 28, 1), received {given!r}")
    full = tuple(batch_shape) if batch_shape is not None else (batch_size, *tuple(shape))
    return SymbolicTensor(full, dtype, name=name)

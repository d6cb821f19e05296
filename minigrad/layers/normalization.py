"""BatchNormalization: batch statistics while training (updating moving ones), moving statistics otherwise."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import constraints, initializers, regularizers, validation
from minigrad.errors import ShapeError
from minigrad.layers.base import InputSpec, Layer, Shape, Weight, register
from minigrad.layers.kernel_bias import serialize_identifier
from minigrad.ops import apply
from minigrad.tensor import Tensor, no_grad

__all__ = ["BatchNormalization"]


def _update_moving(w: Weight, value: np.ndarray, momentum: float) -> None:
    """w <- momentum * w + (1 - momentum) * value, in place and outside the graph."""
    with no_grad():
        w.data *= momentum
        w.data += (1.0 - momentum) * value.astype(w.data.dtype, copy=False)


@register("batch_normalization", aliases=("BatchNorm",))
class BatchNormalization(Layer):
    """y = gamma * (x - mean) / sqrt(var + epsilon) + beta, statistics per feature on `axis`.

    training=True: mean/var of the batch (biased variance, reduced over every other axis), and
    moving_mean/moving_variance (non-trainable) move towards them by (1 - momentum). Otherwise, and
    always while the layer is frozen (trainable=False, as in Keras), the moving statistics are used.
    synchronized=True (Keras 3): under minigrad.distributed, mean/var of the global batch over all
    ranks (two small all-reduces forward and two backward); otherwise each rank's own batch.
    """

    _call_adds_losses = False  # its only losses come from its regularizers
    example_config = {"momentum": 0.9}
    example_input_shape = (4, 3)

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros", moving_variance_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, synchronized: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = f"BatchNormalization '{self.name}'"
        self.axis = validation.integer(axis, owner, "axis")
        self.momentum = validation.real(momentum, owner, "momentum", low=0, high=1)
        self.epsilon = validation.real(epsilon, owner, "epsilon", low=0, low_open=True)
        self.center, self.scale = validation.boolean(center, owner, "center"), validation.boolean(scale, owner, "scale")
        self.synchronized = bool(synchronized)  # hook (minigrad.distributed): statistics of the global batch
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None
        self.input_spec = InputSpec(min_ndim=max(2, self.axis + 1 if self.axis >= 0 else -self.axis))

    def build(self, input_shape: Shape) -> None:
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim or self.axis % ndim == 0:
            raise ShapeError(f"BatchNormalization '{self.name}': axis {self.axis} is not a feature axis of "
                             f"an input of shape {tuple(input_shape)}")
        features = input_shape[self.axis]
        if features is None:
            raise ShapeError(f"BatchNormalization '{self.name}': axis {self.axis} of the input must be known, "
                             f"received shape {tuple(input_shape)}")
        shape = (features,)
        if self.scale:
            self.gamma = self.add_weight("gamma", shape, self.gamma_initializer, self.gamma_regularizer,
                                         self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight("beta", shape, self.beta_initializer, self.beta_regularizer,
                                        self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape, self.moving_variance_initializer,
                                               trainable=False)
        self.input_spec = InputSpec(ndim=ndim, axes={self.axis % ndim: features})

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        ndim = inputs.ndim
        feature = self.axis % ndim
        broadcast = tuple(-1 if i == feature else 1 for i in range(ndim))
        if training and self.trainable:
            reduce = tuple(i for i in range(ndim) if i != feature)
            mean = apply("mean", inputs, axis=reduce, keepdims=True)
            if self.synchronized:
                mean = apply("cross_replica_mean", mean)
            centered = inputs - mean
            var = apply("mean", centered * centered, axis=reduce, keepdims=True)
            if self.synchronized:
                var = apply("cross_replica_mean", var)
            _update_moving(self.moving_mean, mean.data.reshape(-1), self.momentum)
            _update_moving(self.moving_variance, var.data.reshape(-1), self.momentum)
        else:
            centered = inputs - apply("reshape", self.moving_mean, shape=broadcast)
            var = apply("reshape", self.moving_variance, shape=broadcast)
        y = centered / apply("sqrt", var + self.epsilon)
        if self.gamma is not None:
            y = y * apply("reshape", self.gamma, shape=broadcast)
        if self.beta is not None:
            y = y + apply("reshape", self.beta, shape=broadcast)
        return y

    def get_config(self) -> dict[str, Any]:
        init = initializers.serialize
        return {
            **super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale, "synchronized": self.synchronized,
            "beta_initializer": init(self.beta_initializer), "gamma_initializer": init(self.gamma_initializer),
            "moving_mean_initializer": init(self.moving_mean_initializer),
            "moving_variance_initializer": init(self.moving_variance_initializer),
            "beta_regularizer": serialize_identifier(regularizers, self.beta_regularizer),
            "gamma_regularizer": serialize_identifier(regularizers, self.gamma_regularizer),
            "beta_constraint": serialize_identifier(constraints, self.beta_constraint),
            "gamma_constraint": serialize_identifier(constraints, self.gamma_constraint),
        }

"""The built-in update rules (Keras 3 formulas and defaults), each one fused kernel per flat span.

The rules call the compiled kernels directly, not the checking wrappers of minigrad.kernels.optim:
the hyper-parameters were validated when set, and FlatLayout's buffers are 1-D, C-contiguous, of one
dtype and distinct by construction, so a step re-checks nothing.
"""
from __future__ import annotations

import math
from typing import Any

from minigrad import validation
from minigrad._ext import _optim
from minigrad.kernels.optim import _threads
from minigrad.optimizers.base import Optimizer
from minigrad.optimizers.flat import FlatGroup

__all__ = ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad"]


def _slot(group: FlatGroup, name: str, start: int, stop: int) -> Any:
    buf = group.slots.get(name)
    return group.empty if buf is None else buf[start:stop]


class SGD(Optimizer):
    """m = momentum*m - lr*g; w += m (nesterov: w += momentum*m - lr*g); without momentum w -= lr*g."""

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = validation.real(momentum, "SGD", "momentum", low=0, high=1)
        self.nesterov = bool(nesterov)

    def _slots(self) -> dict[str, float]:
        return {"momentum": 0.0} if self.momentum != 0 else {}

    def _update(self, group: FlatGroup, start: int, stop: int, lr: float, scale: float, clip: float,
                weight_decay: float) -> None:
        _optim.sgd_update(group.w[start:stop], group.g[start:stop], _slot(group, "momentum", start, stop), lr,
                          self.momentum, self.nesterov, scale, clip, weight_decay, _threads(stop - start))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """v = rho*v + (1-rho)*g^2; w -= lr*g / sqrt(v + eps) (centered: sqrt(v - avg_g^2 + eps)), with momentum."""

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = validation.real(rho, "RMSprop", "rho", low=0, high=1)
        self.momentum = validation.real(momentum, "RMSprop", "momentum", low=0, high=1)
        self.epsilon = validation.real(epsilon, "RMSprop", "epsilon", low=0)
        self.centered = bool(centered)

    def _slots(self) -> dict[str, float]:
        slots = {"velocity": 0.0}
        if self.momentum > 0:
            slots["momentum"] = 0.0
        if self.centered:
            slots["average_gradient"] = 0.0
        return slots

    def _update(self, group: FlatGroup, start: int, stop: int, lr: float, scale: float, clip: float,
                weight_decay: float) -> None:
        _optim.rmsprop_update(group.w[start:stop], group.g[start:stop], _slot(group, "velocity", start, stop),
                              _slot(group, "momentum", start, stop), _slot(group, "average_gradient", start, stop),
                              lr, self.rho, self.momentum, self.epsilon, self.centered, scale, clip, weight_decay,
                              _threads(stop - start))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adam(Optimizer):
    """m, v moving averages of g and g^2; w -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)."""

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        owner = type(self).__name__
        # < 1: the bias correction divides by 1 - beta^t
        self.beta_1 = validation.real(beta_1, owner, "beta_1", low=0, high=1, high_open=True)
        self.beta_2 = validation.real(beta_2, owner, "beta_2", low=0, high=1, high_open=True)
        self.epsilon = validation.real(epsilon, owner, "epsilon", low=0)
        self.amsgrad = bool(amsgrad)

    def _slots(self) -> dict[str, float]:
        return {"momentum": 0.0, "velocity": 0.0, **({"velocity_hat": 0.0} if self.amsgrad else {})}

    def _update(self, group: FlatGroup, start: int, stop: int, lr: float, scale: float, clip: float,
                weight_decay: float) -> None:
        t = self.iterations + 1
        alpha = lr * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        _optim.adam_update(group.w[start:stop], group.g[start:stop], _slot(group, "momentum", start, stop),
                           _slot(group, "velocity", start, stop), _slot(group, "velocity_hat", start, stop),
                           alpha, self.beta_1, self.beta_2, self.epsilon, self.amsgrad, lr, scale, clip,
                           weight_decay, _threads(stop - start))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay: w -= w * weight_decay * lr before each Adam step."""

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any) -> None:
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay cannot be None (use Adam for no decay)")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)


class Adagrad(Optimizer):
    """acc += g^2 (starting at initial_accumulator_value); w -= lr*g / sqrt(acc + eps)."""

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = validation.real(initial_accumulator_value, "Adagrad",
                                                         "initial_accumulator_value", low=0)
        self.epsilon = validation.real(epsilon, "Adagrad", "epsilon", low=0)

    def _slots(self) -> dict[str, float]:
        return {"accumulator": self.initial_accumulator_value}

    def _update(self, group: FlatGroup, start: int, stop: int, lr: float, scale: float, clip: float,
                weight_decay: float) -> None:
        _optim.adagrad_update(group.w[start:stop], group.g[start:stop], _slot(group, "accumulator", start, stop),
                              lr, self.epsilon, scale, clip, weight_decay, _threads(stop - start))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}

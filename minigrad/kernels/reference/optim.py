"""NumPy twins of kernels.optim (the fused update kernels) and of Keras 3's Optimizer.apply.

The update formulas are Keras 3's `update_step`s (keras/src/optimizers/{sgd,rmsprop,adam,adamw,
adagrad}.py), with the kernels' extra arguments written the way Keras' base optimizer applies them
before the rule: the gradient scaled (clipnorm / global_clipnorm) and clamped (clipvalue), then
decoupled weight decay w -= w * weight_decay * lr. `KerasOptimizer` is base_optimizer.apply on
plain arrays (clipping, weight decay, update_step per variable, EMA, iterations += 1), the
reference the optimizer classes are tested against.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["sgd_update", "rmsprop_update", "adam_update", "adagrad_update", "ema_update",
           "KerasOptimizer", "KERAS_DEFAULTS", "KERAS_BASE_DEFAULTS", "keras_slots"]

# Keras 3's constructor defaults: the base Optimizer's, then each rule's (keras.optimizers.*)
KERAS_BASE_DEFAULTS: dict[str, Any] = dict(
    weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
    ema_momentum=0.99, ema_overwrite_frequency=None)
_ADAM = dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)
KERAS_DEFAULTS: dict[str, dict[str, Any]] = {
    "sgd": dict(learning_rate=0.01, momentum=0.0, nesterov=False),
    "rmsprop": dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False),
    "adam": _ADAM,
    "adamw": {**_ADAM, "weight_decay": 0.004},
    "adagrad": dict(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7),
}


def keras_slots(name: str, c: dict[str, Any]) -> dict[str, float]:
    """The optimizer variables Keras' build() creates for config c: name -> initial value."""
    if name == "sgd":
        return {"momentum": 0.0} if c["momentum"] != 0 else {}
    if name == "rmsprop":
        return {"velocity": 0.0, **({"momentum": 0.0} if c["momentum"] > 0 else {}),
                **({"average_gradient": 0.0} if c["centered"] else {})}
    if name == "adagrad":
        return {"accumulator": c["initial_accumulator_value"]}
    return {"momentum": 0.0, "velocity": 0.0, **({"velocity_hat": 0.0} if c["amsgrad"] else {})}


def _prepared(w: np.ndarray, g: np.ndarray, lr: float, grad_scale: float, clip_value: float,
              weight_decay: float) -> np.ndarray:
    """Decay w in place (w -= w * weight_decay * lr); the gradient scaled by grad_scale, then
    clamped to [-clip_value, clip_value] (0: no clamp), in w's dtype."""
    w -= w * weight_decay * lr
    g = g.astype(w.dtype) * grad_scale
    return np.clip(g, -clip_value, clip_value) if clip_value > 0 else g


def sgd_update(w: np.ndarray, g: np.ndarray, m: np.ndarray | None, *, lr: float,
               momentum: float = 0.0, nesterov: bool = False, grad_scale: float = 1.0,
               clip_value: float = 0.0, weight_decay: float = 0.0) -> None:
    """In place: m = momentum*m - lr*g; w += m (nesterov: w += momentum*m - lr*g); else w -= lr*g."""
    g = _prepared(w, g, lr, grad_scale, clip_value, weight_decay)
    if momentum == 0:
        w -= g * lr
        return
    m[...] = m * momentum - g * lr
    w += m * momentum - g * lr if nesterov else m


def rmsprop_update(w: np.ndarray, g: np.ndarray, velocity: np.ndarray,
                   momentum_buffer: np.ndarray | None, average_gradient: np.ndarray | None, *,
                   lr: float, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                   centered: bool = False, grad_scale: float = 1.0, clip_value: float = 0.0,
                   weight_decay: float = 0.0) -> None:
    """In place: v = rho*v + (1-rho)*g^2; inc = lr*g / sqrt(v + eps) (centered: v - a^2 + eps with
    a = rho*a + (1-rho)*g); with momentum: mom = momentum*mom + inc, w -= mom; else w -= inc."""
    g = _prepared(w, g, lr, grad_scale, clip_value, weight_decay)
    velocity[...] = rho * velocity + (1 - rho) * g * g
    if centered:
        average_gradient[...] = rho * average_gradient + (1 - rho) * g
        denominator = velocity - average_gradient * average_gradient + epsilon
    else:
        denominator = velocity + epsilon
    increment = lr * g / np.sqrt(denominator)
    if momentum > 0:
        momentum_buffer[...] = momentum * momentum_buffer + increment
        w -= momentum_buffer
    else:
        w -= increment


def adam_update(w: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray,
                v_hat: np.ndarray | None, *, alpha: float, beta_1: float = 0.9,
                beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                lr: float = 0.0, grad_scale: float = 1.0, clip_value: float = 0.0,
                weight_decay: float = 0.0) -> None:
    """In place: m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); amsgrad: v_hat = max(v_hat, v) read
    instead of v; w -= alpha*m / (sqrt(v) + eps), alpha = lr*sqrt(1 - b2^t)/(1 - b1^t) from the
    caller (lr itself only scales the weight decay)."""
    g = _prepared(w, g, lr, grad_scale, clip_value, weight_decay)
    m += (g - m) * (1 - beta_1)
    v += (g * g - v) * (1 - beta_2)
    if amsgrad:
        v_hat[...] = np.maximum(v_hat, v)
        v = v_hat
    w -= m * alpha / (np.sqrt(v) + epsilon)


def adagrad_update(w: np.ndarray, g: np.ndarray, accumulator: np.ndarray, *, lr: float,
                   epsilon: float = 1e-7, grad_scale: float = 1.0, clip_value: float = 0.0,
                   weight_decay: float = 0.0) -> None:
    """In place: acc += g^2; w -= lr*g / sqrt(acc + eps)."""
    g = _prepared(w, g, lr, grad_scale, clip_value, weight_decay)
    accumulator += g * g
    w -= lr * g / np.sqrt(accumulator + epsilon)


def ema_update(average: np.ndarray, w: np.ndarray, momentum: float) -> None:
    """In place: average = momentum*average + (1-momentum)*w."""
    average[...] = momentum * average + (1 - momentum) * w


class KerasOptimizer:
    """Keras 3's Optimizer (`name` one of KERAS_DEFAULTS) on lists of NumPy arrays, updated in place.

    apply(grads, variables) is base_optimizer.apply: drop None gradients; clip (clipnorm per
    variable, else global_clipnorm, else clipvalue); w -= w * weight_decay * lr; the rule's
    update_step per variable; with use_ema, average = m*average + (1-m)*w over every variable
    (m = 0 on the first step) and the weights overwritten every ema_overwrite_frequency steps;
    iterations += 1. learning_rate may be a LearningRateSchedule: a callable of the step.
    """

    def __init__(self, name: str, **config: Any) -> None:
        unknown = set(config) - set(KERAS_BASE_DEFAULTS) - set(KERAS_DEFAULTS[name])
        if unknown:
            raise TypeError(f"KerasOptimizer('{name}'): unknown arguments {sorted(unknown)}")
        self.name = name
        self.config = {**KERAS_BASE_DEFAULTS, **KERAS_DEFAULTS[name], **config}
        self.iterations = 0
        self.slots: dict[str, list[np.ndarray]] | None = None
        self.averages: list[np.ndarray] | None = None

    @property
    def learning_rate(self) -> float:
        """The rate of the coming step."""
        lr = self.config["learning_rate"]
        return float(lr(self.iterations)) if callable(lr) else lr

    def build(self, variables: list[np.ndarray]) -> None:
        """One slot array per variable and slot name (Keras' add_optimizer_variables)."""
        self.slots = {name: [np.full_like(v, init) for v in variables]
                      for name, init in keras_slots(self.name, self.config).items()}
        if self.config["use_ema"]:
            self.averages = [np.zeros_like(v) for v in variables]

    def apply(self, grads: list[np.ndarray | None], variables: list[np.ndarray]) -> None:
        """One step of Keras' apply(grads, trainable_variables)."""
        if self.slots is None:
            self.build(variables)
        present = [i for i, g in enumerate(grads) if g is not None]
        if not present:
            raise ValueError("KerasOptimizer: no gradients provided for any variable")
        clipped = self._clip([np.asarray(grads[i], variables[i].dtype) for i in present])
        lr, c = self.learning_rate, self.config
        for i in present:  # _apply_weight_decay, before any update_step
            if c["weight_decay"] is not None:
                variables[i] -= variables[i] * c["weight_decay"] * lr
        for i, g in zip(present, clipped):
            self._update_step(i, g, variables[i], lr)
        if self.averages is not None:
            momentum = c["ema_momentum"] if self.iterations != 0 else 0.0
            for average, v in zip(self.averages, variables):
                ema_update(average, v, momentum)
            frequency = c["ema_overwrite_frequency"]
            if frequency and (self.iterations + 1) % frequency == 0:
                self.finalize_variable_values(variables)
        self.iterations += 1

    def finalize_variable_values(self, variables: list[np.ndarray]) -> None:
        """With use_ema, overwrite the variables with their moving averages."""
        for average, v in zip(self.averages or (), variables):
            v[...] = average

    def _clip(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        c = self.config
        if c["clipnorm"] and c["clipnorm"] > 0:
            return [g * c["clipnorm"] / max(math.sqrt(np.sum(g * g)), c["clipnorm"]) for g in grads]
        if c["global_clipnorm"] and c["global_clipnorm"] > 0:
            norm = math.sqrt(sum(np.sum(g * g) for g in grads))
            return [g * (c["global_clipnorm"] / max(norm, c["global_clipnorm"])) for g in grads]
        if c["clipvalue"] and c["clipvalue"] > 0:
            return [np.clip(g, -c["clipvalue"], c["clipvalue"]) for g in grads]
        return grads

    def _update_step(self, i: int, g: np.ndarray, v: np.ndarray, lr: float) -> None:
        """The rule's update_step: the kernel twin with no scaling, clamping or decay left to do."""
        c, slots = self.config, self.slots
        slot = {name: arrays[i] for name, arrays in slots.items()}.get
        if self.name == "sgd":
            sgd_update(v, g, slot("momentum"), lr=lr, momentum=c["momentum"], nesterov=c["nesterov"])
        elif self.name == "rmsprop":
            rmsprop_update(v, g, slot("velocity"), slot("momentum"), slot("average_gradient"), lr=lr,
                           rho=c["rho"], momentum=c["momentum"], epsilon=c["epsilon"],
                           centered=c["centered"])
        elif self.name == "adagrad":
            adagrad_update(v, g, slot("accumulator"), lr=lr, epsilon=c["epsilon"])
        else:  # adam, adamw (the decay already happened above)
            t = self.iterations + 1
            alpha = lr * math.sqrt(1 - c["beta_2"] ** t) / (1 - c["beta_1"] ** t)
            adam_update(v, g, slot("momentum"), slot("velocity"), slot("velocity_hat"), alpha=alpha,
                        beta_1=c["beta_1"], beta_2=c["beta_2"], epsilon=c["epsilon"],
                        amsgrad=c["amsgrad"], lr=lr)

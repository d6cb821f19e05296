"""Learning-rate schedules (Keras' formulas): called with the optimizer's step, they return the rate."""
from __future__ import annotations

import math
from typing import Any

from minigrad import validation
from minigrad.registry import Registry

__all__ = ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay",
           "PolynomialDecay", "CosineDecay", "CosineDecayRestarts", "registry", "serialize", "deserialize", "get"]

registry = Registry("schedules", validate=lambda obj: isinstance(obj, type) and issubclass(obj, LearningRateSchedule))


class LearningRateSchedule:
    """A function of the step count (0 before the first update) returning a learning rate."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError(f"{type(self).__name__}: __call__ is not implemented")

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__}: get_config is not implemented")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """Rebuild from get_config()."""
        return cls(**config)


class _Decay(LearningRateSchedule):
    """Keras' (initial_learning_rate, decay_steps, decay_rate, staircase) decays; the name defaults
    to the class name, as in Keras."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str | None = None) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = validation.real(initial_learning_rate, owner, "initial_learning_rate")
        self.decay_steps = validation.real(decay_steps, owner, "decay_steps", low=0, low_open=True)
        self.decay_rate = validation.real(decay_rate, owner, "decay_rate")
        self.staircase = bool(staircase)
        self.name = owner if name is None else name

    def _progress(self, step: int) -> float:
        """step / decay_steps, floored when staircase."""
        p = step / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


@registry.register("exponential_decay")
class ExponentialDecay(_Decay):
    """lr = initial * decay_rate ** (step / decay_steps) (the exponent floored when staircase)."""

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


@registry.register("inverse_time_decay")
class InverseTimeDecay(_Decay):
    """lr = initial / (1 + decay_rate * step / decay_steps) (the ratio floored when staircase)."""

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate / (1 + self.decay_rate * self._progress(step))


@registry.register("piecewise_constant_decay")
class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <= boundaries[i], ..."""

    def __init__(self, boundaries: list[int], values: list[float], name: str = "PiecewiseConstant") -> None:
        owner = type(self).__name__
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"{owner}: expected len(values) == len(boundaries) + 1, received "
                             f"{len(values)} values for {len(boundaries)} boundaries")
        self.boundaries = [validation.real(b, owner, "a boundary") for b in boundaries]
        if any(a >= b for a, b in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"{owner}: boundaries must increase strictly, received {boundaries}")
        self.values = [validation.real(v, owner, "a value") for v in values]
        self.name = name

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@registry.register("polynomial_decay")
class PolynomialDecay(LearningRateSchedule):
    """lr = (initial - end) * (1 - step / decay_steps) ** power + end, step capped at decay_steps; with
    cycle, decay_steps grows to the first multiple of itself >= step instead."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay") -> None:
        owner = type(self).__name__
        self.initial_learning_rate = validation.real(initial_learning_rate, owner, "initial_learning_rate")
        self.decay_steps = validation.real(decay_steps, owner, "decay_steps", low=0, low_open=True)
        self.end_learning_rate = validation.real(end_learning_rate, owner, "end_learning_rate")
        self.power = validation.real(power, owner, "power")
        self.cycle, self.name = bool(cycle), name

    def __call__(self, step: int) -> float:
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, decay_steps)
        fraction = 1.0 - step / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * fraction ** self.power + self.end_learning_rate

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


@registry.register("cosine_decay")
class CosineDecay(LearningRateSchedule):
    """Optional linear warmup from initial to warmup_target over warmup_steps, then
    lr = start * ((1 - alpha) * 0.5 * (1 + cos(pi * t / decay_steps)) + alpha), t capped at decay_steps,
    where start is warmup_target (or initial without warmup)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None, warmup_steps: int = 0) -> None:
        owner = type(self).__name__
        self.initial_learning_rate = validation.real(initial_learning_rate, owner, "initial_learning_rate")
        self.decay_steps = validation.real(decay_steps, owner, "decay_steps", low=0, low_open=True)
        self.alpha = validation.real(alpha, owner, "alpha")
        self.warmup_target = validation.real(warmup_target, owner, "warmup_target", none=True)
        self.warmup_steps = validation.real(warmup_steps, owner, "warmup_steps")
        if self.warmup_steps < 0:
            raise ValueError(f"{owner}: expected warmup_steps >= 0, received warmup_steps={warmup_steps}")
        self.name = name

    def _decay(self, step: float, start: float) -> float:
        cosine = 0.5 * (1 + math.cos(math.pi * step / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            progress = step / self.warmup_steps
            return (self.warmup_target - self.initial_learning_rate) * progress + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


@registry.register("cosine_decay_restarts")
class CosineDecayRestarts(LearningRateSchedule):
    """SGDR: cosine decays restarting after first_decay_steps, each period t_mul times longer and its
    peak m_mul times lower; lr = initial * ((1 - alpha) * 0.5 * m_mul**i * (1 + cos(pi * f)) + alpha)."""

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: str = "SGDRDecay") -> None:
        owner = type(self).__name__
        self.initial_learning_rate = validation.real(initial_learning_rate, owner, "initial_learning_rate")
        self.first_decay_steps = validation.real(first_decay_steps, owner, "first_decay_steps", low=0, low_open=True)
        self.t_mul = validation.real(t_mul, owner, "t_mul", low=0, low_open=True)
        self.m_mul = validation.real(m_mul, owner, "m_mul")
        self.alpha = validation.real(alpha, owner, "alpha")
        self.name = name

    def __call__(self, step: int) -> float:
        fraction = step / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:  # period i lasts t_mul**i: restart i begins at (1 - t_mul**i) / (1 - t_mul)
            restart = math.floor(math.log(1.0 - fraction * (1.0 - self.t_mul)) / math.log(self.t_mul))
            begun = (1.0 - self.t_mul ** restart) / (1.0 - self.t_mul)
            fraction = (fraction - begun) / self.t_mul ** restart
        cosine = 0.5 * self.m_mul ** restart * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self.t_mul, "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """{'kind', 'name', 'config'} of a schedule."""
    return registry.serialize(schedule)


def deserialize(entry: dict[str, Any]) -> LearningRateSchedule:
    """A schedule from serialize()'s dict."""
    return registry.deserialize(entry)


def get(identifier: Any) -> LearningRateSchedule:
    """A schedule from an instance or a serialized dict."""
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"schedules.get: expected a LearningRateSchedule or its serialized dict, received {identifier!r}")

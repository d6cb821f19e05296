"""Weight constraints: `constraint(array) -> array`, applied by the optimizer after every step.

Norms are taken over `axis` (Keras' convention: axis=0 for a Dense kernel (in, units) constrains
each unit's incoming weights; use axis=[0, 1, 2] for a Conv2D kernel (kh, kw, in, filters)).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad import validation
from minigrad._ext._tensor import TensorBase
from minigrad.registry import Registry

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "min_max_norm", "non_neg",
           "unit_norm", "registry", "register", "get", "serialize", "deserialize"]

_EPSILON = 1e-7  # Keras' backend epsilon: keeps zero columns at zero instead of 0/0


def _is_constraint(obj: Any) -> bool:
    return (isinstance(obj, type) and issubclass(obj, Constraint)) or callable(obj)


registry = Registry("constraints", validate=_is_constraint)


def register(name: str, *, aliases: tuple[str, ...] = (), override: bool = False):
    """Class decorator: register a Constraint under a snake_case name (its class name also resolves)."""
    def decorate(cls: type) -> type:
        registry.register(name, cls, aliases=aliases, override=override)
        return cls
    return decorate


def _array(w: Any) -> np.ndarray:
    return np.asarray(w.data if isinstance(w, TensorBase) else w)


def _axis(owner: str, axis: Any) -> int | tuple[int, ...]:
    if isinstance(axis, (list, tuple)) and axis:
        return validation.int_tuple(axis, len(axis), owner, "axis", low=None)
    return validation.integer(axis, owner, "axis")


def _norms(owner: str, w: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    axes = axis if isinstance(axis, tuple) else (axis,)
    if any(not -w.ndim <= a < w.ndim for a in axes):
        raise ValueError(f"{owner}: axis {axis} is out of range for a weight of shape {w.shape}")
    return np.sqrt(np.sum(w * w, axis=axis, keepdims=True))


class Constraint:
    """Base class: __call__(w) -> projected array of w's shape and dtype; get_config()."""

    def __call__(self, w: Any) -> np.ndarray:
        return _array(w)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


@register("max_norm")
class MaxNorm(Constraint):
    """Rescale slices whose L2 norm over axis exceeds max_value down to max_value."""

    def __init__(self, max_value: float = 2.0, axis: int | Sequence[int] = 0) -> None:
        self.max_value = validation.real(max_value, "MaxNorm", "max_value", low=0)
        self.axis = _axis("MaxNorm", axis)

    def __call__(self, w: Any) -> np.ndarray:
        w = _array(w)
        norms = _norms("MaxNorm", w, self.axis)
        desired = np.clip(norms, 0.0, self.max_value)
        return (w * (desired / (_EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


@register("non_neg")
class NonNeg(Constraint):
    """Negative values become 0."""

    def __call__(self, w: Any) -> np.ndarray:
        w = _array(w)
        return np.maximum(w, 0).astype(w.dtype, copy=False)


@register("unit_norm")
class UnitNorm(Constraint):
    """Divide each slice by its L2 norm over axis."""

    def __init__(self, axis: int | Sequence[int] = 0) -> None:
        self.axis = _axis("UnitNorm", axis)

    def __call__(self, w: Any) -> np.ndarray:
        w = _array(w)
        return (w / (_EPSILON + _norms("UnitNorm", w, self.axis))).astype(w.dtype, copy=False)

    def get_config(self) -> dict[str, Any]:
        return {"axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


@register("min_max_norm")
class MinMaxNorm(Constraint):
    """Move slice norms into [min_value, max_value]: norm <- rate * clip(norm) + (1 - rate) * norm."""

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: int | Sequence[int] = 0) -> None:
        self.min_value = validation.real(min_value, "MinMaxNorm", "min_value", low=0)
        self.max_value = validation.real(max_value, "MinMaxNorm", "max_value", low=0)
        if self.min_value > self.max_value:
            raise ValueError(f"MinMaxNorm: min_value must be <= max_value, received {min_value!r} > {max_value!r}")
        self.rate = validation.real(rate, "MinMaxNorm", "rate", low=0, high=1)
        self.axis = _axis("MinMaxNorm", axis)

    def __call__(self, w: Any) -> np.ndarray:
        w = _array(w)
        norms = _norms("MinMaxNorm", w, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1.0 - self.rate) * norms
        return (w * (desired / (_EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


# Keras' lowercase names are the classes themselves: constraints.max_norm(3) is MaxNorm(3)
max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm


def get(identifier: Any) -> Constraint | None:
    """None, a Constraint or callable, a class, a name ('max_norm', 'NonNeg', 'dist:name') or a dict."""
    return registry.resolve(identifier, Constraint)


serialize = registry.serialize
deserialize = registry.deserialize

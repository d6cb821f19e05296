"""Optimizers (Keras names, defaults and formulas), each updating all weights in one fused pass.

`get('rmsprop')`, `get(RMSprop)`, `get({'name': 'adam', 'config': {...}})` or an instance.
"""
from __future__ import annotations

from typing import Any

from minigrad.optimizers import schedules
from minigrad.optimizers.base import Optimizer
from minigrad.optimizers.rules import SGD, Adagrad, Adam, AdamW, RMSprop
from minigrad.registry import Registry

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "schedules", "registry", "register",
           "get", "serialize", "deserialize"]

registry = Registry("optimizers", validate=lambda obj: isinstance(obj, type) and issubclass(obj, Optimizer))
registry.register("sgd", SGD)
registry.register("rmsprop", RMSprop, aliases=("rm_sprop",))  # snake_case('RMSprop') == 'rm_sprop'
registry.register("adam", Adam)
registry.register("adamw", AdamW, aliases=("adam_w",))
registry.register("adagrad", Adagrad)


def register(name: str, *, override: bool = False):
    """Class decorator: register an Optimizer subclass under name."""
    return registry.register(name, override=override)


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """{'kind', 'name', 'config'[, 'provider']} of an optimizer (its state is not included)."""
    return registry.serialize(optimizer)


def deserialize(entry: dict[str, Any]) -> Optimizer:
    """An optimizer from serialize()'s dict, resolved through the registry only."""
    return registry.deserialize(entry)


def get(identifier: Any) -> Optimizer | None:
    """None -> None; instance -> itself; class, name or serialized dict -> a new instance."""
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str):
        return registry.get(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"optimizers.get: expected None, an Optimizer, its class, a name or a config dict, "
                    f"received {type(identifier).__name__}")

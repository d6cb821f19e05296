"""Optimizers (Keras names, defaults and formulas), each updating all weights in one fused pass.

`get('rmsprop')`, `get(RMSprop)`, `get({'name': 'adam', 'config': {...}})` or an instance.
"""
from __future__ import annotations

from minigrad.optimizers import schedules
from minigrad.optimizers.base import Optimizer
from minigrad.optimizers.rules import SGD, Adagrad, Adam, AdamW, RMSprop
from minigrad.registry import Kind

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "schedules", "registry", "register",
           "get", "serialize", "deserialize"]

registry, register, get, serialize, deserialize = Kind("optimizers", Optimizer).api()
# Keras resolves an optimizer by its lowercased class name, in any case ('rmsprop', 'RMSprop', 'adamw')
for _cls in (SGD, RMSprop, Adam, AdamW, Adagrad):
    register(_cls.__name__.lower(), _cls)

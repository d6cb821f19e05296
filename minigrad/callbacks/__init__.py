"""Callbacks: hooks that fit/evaluate/predict call, and the registry of built-in and plugin callbacks.

`minigrad.callbacks.get("early_stopping")`, `register("my_callback")(MyCallback)`; plugins add more
through the `minigrad.callbacks` entry-point group.
"""
from minigrad.callbacks.base import Callback, CallbackList, deserialize, get, register, registry, serialize
from minigrad.callbacks.history import History
from minigrad.callbacks.progbar import ProgbarLogger

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger",
    "registry", "register", "get", "serialize", "deserialize",
]

"""save_model / load_model (architecture + weights + optimizer) and save_weights / load_weights."""
from __future__ import annotations

import math
import os
import warnings
from typing import Any, Callable

import numpy as np

from minigrad import losses, metrics, optimizers
from minigrad import random as mg_random
from minigrad._version import __version__
from minigrad.errors import MissingPluginError, RegistryError, SerializationError
from minigrad.layers.tracking import stored_weights
from minigrad.registry import all_registries, is_installed, only_plugins
from minigrad.saving import serialization
from minigrad.saving.archive import read_archive, write_archive

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "weights_document"]

def _check_target(filepath: Any, overwrite: bool, who: str) -> str:
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"{who}: filepath must be a str or os.PathLike, received {type(filepath).__name__}")
    path = os.fspath(filepath)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".h5", ".hdf5"):  # Keras 3 scripts write these (save_weights wants .weights.h5)
        warnings.warn(f"{who}: {path!r} ends in '{suffix}', the suffix of an HDF5 file, but minigrad writes "
                      "its own zip of JSON and .npy files, which h5py and Keras cannot read (minigrad "
                      "loads it back whatever its name)", UserWarning, stacklevel=4)
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{who}: {path} exists and overwrite=False")
    return path


def _require_built(model: Any, who: str) -> None:
    if not getattr(model, "weights", None) and not getattr(model, "layers", None):
        raise ValueError(f"{who}: the model has no layers")
    if model.input_shapes() is None:
        raise ValueError(f"{who}: model '{model.name}' is not built yet; call it on data, fit it, "
                         "or give the first layer an input_shape")


# ----- weights
def weights_document(model: Any) -> list[dict[str, Any]]:
    """[{'name', 'value'}] for every weight, in get_weights() order."""
    names = [w.name for w in model.weight_list()]
    return [{"name": n, "value": v} for n, v in zip(names, model.get_weights())]


def _weight_entries(entries: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("value"), np.ndarray) and isinstance(e.get("name", ""), str)
            for e in entries):
        raise SerializationError(f"{path}: the weights list is malformed (expected [{{'name', 'value'}}, ...])")
    return entries


def _set_weights(model: Any, entries: Any, path: str) -> None:
    entries = _weight_entries(entries, path)
    own = model.weight_list()
    if len(entries) != len(own):
        raise ValueError(f"load_weights: {path} holds {len(entries)} weights, model '{model.name}' has {len(own)}")
    for w, e in zip(own, entries):
        if e["value"].shape != tuple(w.shape):
            raise ValueError(f"load_weights: weight '{w.name}' of model '{model.name}' has shape {tuple(w.shape)}, "
                             f"{path} holds '{e.get('name')}' with shape {e['value'].shape}")
    model.set_weights([e["value"] for e in entries])


class _StoredWeights:
    """Layer.add_weight's source while a model loads: each weight is the file's array of that name,
    once its shape equals the one the layer's config implies (so a config cannot allocate more than
    the file holds)."""

    def __init__(self, entries: list[dict[str, Any]], path: str) -> None:
        self.path = path
        self.by_name: dict[str, list[np.ndarray]] = {}
        for e in entries:
            self.by_name.setdefault(e.get("name", ""), []).append(e["value"])

    def __call__(self, layer: Any, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        full = f"{layer.name}/{name}"
        needs = f"{type(layer).__name__} '{layer.name}' needs weight '{full}' of shape {shape} " \
                f"({_human_bytes(math.prod(shape) * dtype.itemsize)} of {dtype})"
        stored = self.by_name.get(full)
        if not stored:
            raise SerializationError(f"{self.path}: the model config does not match the weights: {needs}, "
                                     "which the file does not hold")
        if stored[0].shape != shape:
            raise SerializationError(f"{self.path}: the model config does not match the weights: {needs}, "
                                     f"the file stores shape {stored[0].shape}")
        return stored.pop(0).astype(dtype, copy=False)


def _human_bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return ""  # unreachable


# Python errors a hostile document can provoke in from_config/compile; reported as the file's fault
_FROM_FILE_ERRORS = (KeyError, TypeError, AttributeError, IndexError, ValueError, OverflowError, RecursionError)


def _from_file(path: str, part: str, build: Callable[[], Any]) -> Any:
    """build(), with a bare Python error raised by what the file holds turned into SerializationError."""
    try:
        return build()
    except SerializationError:
        raise
    except RegistryError as e:  # same class (callers catch UnknownNameError...), message says where
        raise type(e)(f"{path}: {part}: {e}") from e
    except _FROM_FILE_ERRORS as e:
        raise SerializationError(f"{path}: {part}: {type(e).__name__}: {e}") from e


def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write every weight of a built model (names, shapes, dtypes, values) atomically."""
    path = _check_target(filepath, overwrite, "save_weights")
    _require_built(model, "save_weights")
    write_archive(path, "weights", {"model": model.name, "weights": weights_document(model)})


def load_weights(model: Any, filepath: str | os.PathLike) -> None:
    """Set a built model's weights from save_weights() (or save_model()) output; counts and shapes must match."""
    path = os.fspath(filepath)
    _require_built(model, "load_weights")
    document = read_archive(path, ("weights", "model"))
    _set_weights(model, document.get("weights"), path)


# ----- whole model
def _compile_document(model: Any) -> dict[str, Any] | None:
    if not model._compiled:
        return None
    specs = [m if isinstance(m, str) else metrics.serialize(m) for m in model._metric_specs]
    return {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": None if model.loss is None else losses.serialize(model.loss),  # None: add_loss alone
        "metrics": specs,
    }


def save_model(model: Any, filepath: str | os.PathLike, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Architecture (through the registries), weights, compile arguments and optimizer state, atomically."""
    path = _check_target(filepath, overwrite, "save_model")
    _require_built(model, "save_model")
    document = {
        "model": serialization.model_spec(model),  # a custom class: by name, found on load via custom objects
        "weights": weights_document(model),
        "compile": _compile_document(model),
        "optimizer_state": model.optimizer.get_state() if include_optimizer and model.optimizer is not None else None,
    }
    document["requires"] = _providers({"model": document["model"], "compile": document["compile"]})
    document["minigrad_version"] = __version__
    write_archive(path, "model", document)


def load_model(filepath: str | os.PathLike, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """A model saved by save_model: same architecture, weights and (compile=True) optimizer state.

    custom_objects maps saved names to your own classes and functions (see saving.serialization);
    safe_mode is accepted for Keras compatibility: files never hold code, so loading is always safe.
    Layers are built from the stored arrays: each weight's shape is checked against the one its
    layer's config implies before anything is allocated, and no initializer runs (the global
    random stream is left untouched).
    """
    path = os.fspath(filepath)
    document = read_archive(path, "model")
    spec = document.get("model")
    if not isinstance(spec, dict):
        raise SerializationError(f"{path}: the model entry must name Sequential, Model or a custom class")
    entries = _weight_entries(document.get("weights"), path)
    state = mg_random.get_state()
    try:
        with serialization.custom_object_scope(custom_objects), \
                only_plugins(_required_plugins(document.get("requires"), path), path):
            # only the model's own layers; a custom class is the user's own code, rebuilt with its
            # own names: its weights match by order
            token = stored_weights.set(None if spec.get("custom") else _StoredWeights(entries, path))
            try:
                model = _from_file(path, "the model config", lambda: serialization.model_from_spec(spec, path))
            finally:
                stored_weights.reset(token)
            if compile and document.get("compile"):
                _from_file(path, "the compile entry", lambda: _compile(model, document["compile"], path))
                if document.get("optimizer_state") is not None:
                    _from_file(path, "the optimizer state",
                               lambda: model.optimizer.set_state(document["optimizer_state"]))
    finally:
        mg_random.set_state(state)
    _set_weights(model, entries, path)  # counts, order and shapes, for layers built outside add_weight
    return model


def _required_plugins(requires: Any, path: str) -> list[str]:
    """The plugin distributions a file declares, once every one of them is installed."""
    if requires is None:
        return []
    if not isinstance(requires, list) or not all(
            isinstance(r, dict) and isinstance(r.get("distribution"), str) for r in requires):
        raise SerializationError(f"{path}: the requires list is malformed (expected [{{'distribution', 'version'}}])")
    missing = [r for r in requires if not is_installed(r["distribution"])]
    if missing:
        raise MissingPluginError(
            f"{path} needs plugin distributions that are not installed: "
            + ", ".join(f"{r['distribution']} {r.get('version', '?')}" for r in missing)
            + "; pip install " + " ".join(r["distribution"] for r in missing))
    return [r["distribution"] for r in requires]


def _compile(model: Any, config: Any, path: str) -> None:
    if not isinstance(config, dict) or not isinstance(config.get("metrics", []), list):
        raise SerializationError(f"{path}: the compile entry is malformed")
    model.compile(
        optimizer=optimizers.deserialize(config["optimizer"]),
        loss=None if config["loss"] is None else losses.deserialize(config["loss"]),  # None: add_loss alone
        metrics=list(config.get("metrics") or []),
    )


# config keys whose plain-string values are registry names (Keras writes activations as strings)
_NAMED = {"activation": "activations", "metrics": "metrics"}


def _providers(node: Any, found: dict[str, str] | None = None, key: str = "") -> list[dict[str, str]]:
    """Every plugin distribution a saved document uses, with its version: load_model imports only
    these and says which are missing ('pip install <distribution>')."""
    found = {} if found is None else found
    if isinstance(node, dict):
        provider = node.get("provider")
        if isinstance(provider, dict) and isinstance(provider.get("distribution"), str):
            found.setdefault(provider["distribution"], str(provider.get("version", "?")))
        for k, value in node.items():
            _providers(value, found, k)
    elif isinstance(node, list):
        for value in node:
            _providers(value, found, key)
    elif isinstance(node, str) and key in _NAMED:
        registry = all_registries().get(_NAMED[key])
        provider = registry.plugin_provider(node) if registry is not None else None
        if provider is not None:
            found.setdefault(*provider)
    return [{"distribution": d, "version": v} for d, v in sorted(found.items())]

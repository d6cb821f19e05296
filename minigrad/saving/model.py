"""save_model / load_model (architecture + weights + optimizer) and save_weights / load_weights."""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from minigrad import random as mg_random
from minigrad.errors import SerializationError
from minigrad.saving import serialization
from minigrad.saving.archive import read_archive, write_archive

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "weights_document"]

def _check_target(filepath: Any, overwrite: bool, who: str) -> str:
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"{who}: filepath must be a str or os.PathLike, received {type(filepath).__name__}")
    path = os.fspath(filepath)
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


def _set_weights(model: Any, entries: Any, path: str) -> None:
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("value"), np.ndarray)
                                                for e in entries):
        raise SerializationError(f"{path}: the weights list is malformed")
    own = model.weight_list()
    if len(entries) != len(own):
        raise ValueError(f"load_weights: {path} holds {len(entries)} weights, model '{model.name}' has {len(own)}")
    for w, e in zip(own, entries):
        if e["value"].shape != tuple(w.shape):
            raise ValueError(f"load_weights: weight '{w.name}' of model '{model.name}' has shape {tuple(w.shape)}, "
                             f"{path} holds '{e.get('name')}' with shape {e['value'].shape}")
    model.set_weights([e["value"] for e in entries])


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
    if not getattr(model, "_compiled", False):
        return None
    from minigrad import losses, metrics, optimizers

    specs = [m if isinstance(m, str) else metrics.serialize(m) for m in getattr(model, "_metric_specs", [])]
    return {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": losses.serialize(model.loss),
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
    document["requires"] = _providers(document["model"])
    from minigrad import __version__

    document["minigrad_version"] = __version__
    write_archive(path, "model", document)


def load_model(filepath: str | os.PathLike, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """A model saved by save_model: same architecture, weights and (compile=True) optimizer state.

    custom_objects maps saved names to your own classes and functions (see saving.serialization);
    safe_mode is accepted for Keras compatibility: files never hold code, so loading is always safe.
    Loading leaves the global random stream untouched, although rebuilding the layers draws
    fresh initial weights before the saved ones overwrite them.
    """
    path = os.fspath(filepath)
    document = read_archive(path, "model")
    spec = document.get("model")
    if not isinstance(spec, dict):
        raise SerializationError(f"{path}: the model entry must name Sequential, Model or a custom class")
    with serialization.custom_object_scope(custom_objects):
        state = mg_random.get_state()
        try:
            model = serialization.model_from_spec(spec, path)
        finally:
            mg_random.set_state(state)
        _set_weights(model, document.get("weights"), path)
        if compile and document.get("compile"):
            _compile(model, document["compile"], path)
            if document.get("optimizer_state") is not None:
                model.optimizer.set_state(document["optimizer_state"])
    return model


def _compile(model: Any, config: Any, path: str) -> None:
    from minigrad import losses, optimizers

    if not isinstance(config, dict) or not isinstance(config.get("metrics", []), list):
        raise SerializationError(f"{path}: the compile entry is malformed")
    model.compile(
        optimizer=optimizers.deserialize(config["optimizer"]),
        loss=losses.deserialize(config["loss"]),
        metrics=list(config.get("metrics") or []),
    )


def _providers(node: Any, found: dict[str, str] | None = None) -> list[dict[str, str]]:
    """Every plugin distribution named in serialized entries: the file records what it depends on
    (loading without one fails in the registry with 'pip install <distribution>')."""
    found = {} if found is None else found
    if isinstance(node, dict):
        provider = node.get("provider")
        if isinstance(provider, dict) and isinstance(provider.get("distribution"), str):
            found.setdefault(provider["distribution"], str(provider.get("version", "?")))
        for value in node.values():
            _providers(value, found)
    elif isinstance(node, list):
        for value in node:
            _providers(value, found)
    return [{"distribution": d, "version": v} for d, v in sorted(found.items())]

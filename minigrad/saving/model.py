"""save_model / load_model (architecture + weights + optimizer) and save_weights / load_weights."""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from minigrad import random as mg_random
from minigrad.errors import SerializationError
from minigrad.saving.archive import read_archive, write_archive

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "weights_document"]

_MODEL_CLASSES = ("Sequential", "Model")


def _model_classes() -> dict[str, type]:
    from minigrad import models

    return {name: getattr(models, name) for name in _MODEL_CLASSES}


def _check_target(filepath: Any, overwrite: bool, who: str) -> str:
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"{who}: filepath must be a str or os.PathLike, received {type(filepath).__name__}")
    path = os.fspath(filepath)
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".h5", ".hdf5", ".keras"):  # a name that promises a format this is not
        raise ValueError(f"{who}: {path!r} ends in '{suffix}', the suffix of a Keras "
                         f"{'archive' if suffix == '.keras' else 'HDF5 file'}, but minigrad writes its "
                         f"own zip of JSON and .npy files, which Keras and h5py cannot read; "
                         f"use another suffix, e.g. '.mg'")
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
    names = [w.name for layer in model.layers for w in layer.weights]
    return [{"name": n, "value": v} for n, v in zip(names, model.get_weights())]


def _set_weights(model: Any, entries: Any, path: str) -> None:
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("value"), np.ndarray)
                                                for e in entries):
        raise SerializationError(f"{path}: the weights list is malformed")
    own = [w for layer in model.layers for w in layer.weights]
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
    classes = _model_classes()
    class_name = type(model).__name__
    if classes.get(class_name) is not type(model):
        raise TypeError(f"save_model: only Sequential and functional Model can be saved (no code is stored), "
                        f"received {type(model).__name__}; use save_weights for a subclassed model")
    _require_built(model, "save_model")
    document = {
        "model": {"class_name": class_name, "config": model.get_config()},
        "weights": weights_document(model),
        "compile": _compile_document(model),
        "optimizer_state": model.optimizer.get_state() if include_optimizer and model.optimizer is not None else None,
    }
    document["requires"] = _providers(document["model"])
    from minigrad import __version__

    document["minigrad_version"] = __version__
    write_archive(path, "model", document)


def load_model(filepath: str | os.PathLike, compile: bool = True) -> Any:
    """A model saved by save_model: same architecture, weights and (compile=True) optimizer state.

    Loading leaves the global random stream untouched, although rebuilding the layers draws
    fresh initial weights before the saved ones overwrite them.
    """
    path = os.fspath(filepath)
    document = read_archive(path, "model")
    spec = document.get("model")
    classes = _model_classes()
    if not isinstance(spec, dict) or spec.get("class_name") not in classes or not isinstance(spec.get("config"), dict):
        raise SerializationError(f"{path}: the model entry must name one of {', '.join(classes)} with a config")
    state = mg_random.get_state()
    try:
        model = classes[spec["class_name"]].from_config(spec["config"])
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

"""Models: Sequential, Model (functional or subclassed), and the training loops they share (keras.models)."""
import json
from typing import Any

from minigrad import saving
from minigrad.models.functional import Model, SymbolicTensor, symbolic_call
from minigrad.models.sequential import Sequential

__all__ = ["Sequential", "Model", "SymbolicTensor", "symbolic_call", "load_model", "model_from_json"]


def load_model(filepath: Any, **kwargs: Any) -> Any:
    """A model saved with model.save() (minigrad.saving.load_model)."""
    return saving.load_model(filepath, **kwargs)


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """A fresh (newly initialised) model from model.to_json()."""
    return saving.deserialize_keras_object(json.loads(json_string), custom_objects=custom_objects)

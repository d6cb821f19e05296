"""Models: Sequential, the functional Model, and the training loops they share."""
from typing import Any

from minigrad.models.functional import Model, SymbolicTensor, symbolic_call
from minigrad.models.sequential import Sequential

__all__ = ["Sequential", "Model", "SymbolicTensor", "symbolic_call", "load_model"]


def load_model(filepath: Any, **kwargs: Any) -> Any:
    """A model saved with model.save() (minigrad.saving.load_model)."""
    from minigrad import saving

    return saving.load_model(filepath, **kwargs)

"""Accuracy metrics: Accuracy, Binary/Categorical/SparseCategoricalAccuracy and the top-k accuracies."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import validation
from minigrad.metrics.base import MeanMetricWrapper, _class_axis, _registered_name, _same_rank, _sparse_labels, register

__all__ = ["Accuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "BinaryAccuracy", "TopKCategoricalAccuracy",
           "SparseTopKCategoricalAccuracy"]


@register("accuracy")
class Accuracy(MeanMetricWrapper):
    """Keras' Accuracy class: how often y_pred equals y_true exactly (for class ids, not probabilities)."""

    def __init__(self, name: str | None = None, dtype: str = "float32") -> None:
        super().__init__(lambda t, p: np.equal(*_same_rank(self.name, t, p)), name=name or "accuracy", dtype=dtype)


@register("categorical_accuracy")
class CategoricalAccuracy(MeanMetricWrapper):
    """argmax(y_true) == argmax(y_pred) over the class axis; y_true one-hot of y_pred's shape."""

    def __init__(self, name: str | None = None, dtype: str = "float32") -> None:
        super().__init__(self._values, name=name or "categorical_accuracy", dtype=dtype)

    def _values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        _class_axis(self.name, y_pred)
        if y_true.shape != y_pred.shape:
            hint = "; these look like integer labels (use sparse categorical accuracy)" \
                if y_true.shape in (y_pred.shape[:-1], y_pred.shape[:-1] + (1,)) else ""
            raise ValueError(f"{self.name}: expected one-hot labels of shape {y_pred.shape} (the shape of y_pred), "
                             f"received shape {y_true.shape}{hint}")
        return np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)


@register("sparse_categorical_accuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """y_true == argmax(y_pred) over the class axis; y_true class ids of shape (N,) or (N, 1)."""

    def __init__(self, name: str | None = None, dtype: str = "float32") -> None:
        super().__init__(self._values, name=name or "sparse_categorical_accuracy", dtype=dtype)

    def _values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return _sparse_labels(self.name, y_true, y_pred) == np.argmax(y_pred, axis=-1)


@register("binary_accuracy")
class BinaryAccuracy(MeanMetricWrapper):
    """(y_pred > threshold) == y_true, element-wise."""

    def __init__(self, name: str | None = None, dtype: str = "float32", threshold: float = 0.5) -> None:
        self.threshold = float(threshold)
        super().__init__(self._values, name=name or "binary_accuracy", dtype=dtype)

    def _values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        y_true, y_pred = _same_rank(self.name, y_true, y_pred)
        return y_true == (y_pred > self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


def _in_top_k(owner: str, k: int, labels: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    # the target is in the top k when fewer than k classes score strictly higher (ties count as in)
    labels = labels.astype(np.int64)
    classes = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{owner}: expected class labels in [0, {classes - 1}], received values in "
                         f"[{labels.min()}, {labels.max()}]")
    target = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    return (y_pred > target).sum(axis=-1) < k


class _TopK(MeanMetricWrapper):
    def __init__(self, k: int = 5, name: str | None = None, dtype: str = "float32") -> None:
        self.k = validation.integer(k, type(self).__name__, "k", low=1)
        super().__init__(self._values, name=name or _registered_name(type(self)), dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "k": self.k}


@register("top_k_categorical_accuracy")
class TopKCategoricalAccuracy(_TopK):
    """argmax(y_true) is among the k highest scores of y_pred; y_true one-hot."""

    def _values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        _class_axis(self.name, y_pred)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"{self.name}: expected one-hot labels of shape {y_pred.shape}, received shape {y_true.shape}")
        return _in_top_k(self.name, self.k, np.argmax(y_true, axis=-1), y_pred)


@register("sparse_top_k_categorical_accuracy")
class SparseTopKCategoricalAccuracy(_TopK):
    """y_true (class ids) is among the k highest scores of y_pred."""

    def _values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        labels = _sparse_labels(self.name, y_true, y_pred)
        return _in_top_k(self.name, self.k, labels, y_pred)

"""Hinge losses for {-1, 1} (or {0, 1}) labels: Hinge, SquaredHinge, CategoricalHinge (Keras formulas)."""
from __future__ import annotations

import numpy as np

from minigrad.losses.base import Loss, register
from minigrad.tensor import Tensor

__all__ = ["Hinge", "SquaredHinge", "CategoricalHinge"]


def hinge_labels(y: np.ndarray) -> np.ndarray:
    """Keras' convert_binary_labels_to_hinge: labels that are all 0/1 become -1/1, others stay."""
    return 2.0 * y - 1.0 if np.isin(y, (0, 1)).all() else y


class _Margin(Loss):
    def margin(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        """max(1 - y_true * y_pred, 0) elementwise."""
        y = hinge_labels(self._same_shape(y_true, y_pred, "labels in {-1, 1} or {0, 1}"))
        return (1.0 - y_pred * y).maximum(0.0)


@register("hinge")
class Hinge(_Margin):
    """mean(max(1 - y_true * y_pred, 0)) over the last axis."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        return self.margin(y_true, y_pred).mean(axis=-1)


@register("squared_hinge")
class SquaredHinge(_Margin):
    """mean(max(1 - y_true * y_pred, 0)^2) over the last axis."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        m = self.margin(y_true, y_pred)
        return (m * m).mean(axis=-1)


@register("categorical_hinge")
class CategoricalHinge(Loss):
    """max(neg - pos + 1, 0) with pos = sum(y_true * y_pred), neg = max((1 - y_true) * y_pred) (last axis)."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        y = self._same_shape(y_true, y_pred, "one-hot labels")
        pos = (y_pred * y).sum(axis=-1)
        neg = (y_pred * (1.0 - y)).max(axis=-1)
        return (neg - pos + 1.0).maximum(0.0)

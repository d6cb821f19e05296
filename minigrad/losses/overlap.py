"""Overlap losses for segmentation masks: Dice and Tversky (Keras formulas; axis=None reduces everything)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad.losses.base import EPSILON, Loss, register
from minigrad.tensor import Tensor

__all__ = ["Dice", "Tversky"]


class _Overlap(Loss):
    def __init__(self, axis: int | Sequence[int] | None = None, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None) -> None:
        super().__init__(name=name, reduction=reduction)
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}


@register("dice")
class Dice(_Overlap):
    """1 - 2 sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7) over axis."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        y = self._same_shape(y_true, y_pred, "masks")
        overlap = (y_pred * y).sum(axis=self.axis)
        return 1.0 - overlap * 2.0 / (y_pred.sum(axis=self.axis) + (np.sum(y, axis=self.axis) + EPSILON))


@register("tversky")
class Tversky(_Overlap):
    """1 - tp / (tp + alpha * sum((1 - y_pred) y_true) + beta * sum(y_pred (1 - y_true)) + 1e-7) over axis
    (Keras' naming of the two error terms)."""

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, axis: int | Sequence[int] | None = None) -> None:
        super().__init__(axis=axis, reduction=reduction, name=name)
        self.alpha, self.beta = float(alpha), float(beta)

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        y = self._same_shape(y_true, y_pred, "masks")
        tp = (y_pred * y).sum(axis=self.axis)
        missed = ((1.0 - y_pred) * y).sum(axis=self.axis)
        extra = (y_pred * (1.0 - y)).sum(axis=self.axis)
        return 1.0 - tp / (tp + missed * self.alpha + extra * self.beta + EPSILON)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta}

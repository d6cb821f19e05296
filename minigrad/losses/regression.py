"""Regression losses: MSE, MAE, Huber, MAPE, MSLE, LogCosh, CosineSimilarity (Keras formulas, last axis)."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import validation
from minigrad.losses.base import EPSILON, Loss, register
from minigrad.ops import apply
from minigrad.tensor import Tensor

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "Huber", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "LogCosh", "CosineSimilarity"]


@register("mean_squared_error", aliases=("mse",))
class MeanSquaredError(Loss):
    """mean((y_true - y_pred)^2) over the last axis."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        return ((y_pred - self._same_shape(y_true, y_pred, "targets")) ** 2).mean(axis=-1)


@register("mean_absolute_error", aliases=("mae",))
class MeanAbsoluteError(Loss):
    """mean(|y_true - y_pred|) over the last axis."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        return (y_pred - self._same_shape(y_true, y_pred, "targets")).abs().mean(axis=-1)


@register("huber", aliases=("huber_loss",))
class Huber(Loss):
    """mean of 0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2, over the last axis."""

    def __init__(self, delta: float = 1.0, name: str | None = None, reduction: str = "sum_over_batch_size") -> None:
        super().__init__(name=name, reduction=reduction)
        self.delta = validation.real(delta, "Huber", "delta", low=0, low_open=True)

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        err = (y_pred - self._same_shape(y_true, y_pred, "targets")).abs()
        quad = err.minimum(self.delta)  # 0.5 q^2 + delta (|e| - q) is both branches at once
        return (quad * quad * 0.5 + (err - quad) * self.delta).mean(axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "delta": self.delta}




@register("mean_absolute_percentage_error", aliases=("mape", "MAPE"))
class MeanAbsolutePercentageError(Loss):
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)) over the last axis."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        y = self._same_shape(y_true, y_pred, "targets")
        return ((y_pred - y) * (1.0 / np.maximum(np.abs(y), EPSILON))).abs().mean(axis=-1) * 100.0


@register("mean_squared_logarithmic_error", aliases=("msle", "MSLE"))
class MeanSquaredLogarithmicError(Loss):
    """mean((log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2) over the last axis."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        y = self._same_shape(y_true, y_pred, "targets")
        diff = (y_pred.maximum(EPSILON) + 1.0).log() - np.log(np.maximum(y, EPSILON) + 1.0)
        return (diff * diff).mean(axis=-1)


@register("log_cosh", aliases=("logcosh",))
class LogCosh(Loss):
    """mean(log(cosh(y_pred - y_true))) over the last axis, as x + softplus(-2x) - log(2) (no overflow)."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        x = y_pred - self._same_shape(y_true, y_pred, "targets")
        return (x + apply("softplus", x * -2.0) - float(np.log(2.0))).mean(axis=-1)


@register("cosine_similarity")
class CosineSimilarity(Loss):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) over axis (-1 means aligned, 0 orthogonal)."""

    def __init__(self, axis: int = -1, name: str | None = None, reduction: str | None = "sum_over_batch_size") -> None:
        super().__init__(name=name, reduction=reduction)
        self.axis = validation.integer(axis, "CosineSimilarity", "axis")

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        from minigrad.ops.nn import normalize

        y = self._same_shape(y_true, y_pred, "targets")
        if not -y.ndim <= self.axis < y.ndim:
            raise ValueError(f"CosineSimilarity: axis {self.axis} is out of range for y_pred of shape {y.shape}")
        return -(normalize(y_pred, axis=self.axis) * normalize(y, axis=self.axis).data).sum(axis=self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}

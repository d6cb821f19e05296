"""Regression metrics and the loss-named metrics (Keras: each the mean of its loss function's values)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import losses, validation
from minigrad.metrics.base import Mean, MeanMetricWrapper, Metric, _array, _same_rank, register

__all__ = ["MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "LogCoshError", "CosineSimilarity", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge",
           "SquaredHinge", "CategoricalHinge", "R2Score"]


def _error(owner: str, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    y_true, y_pred = _same_rank(owner, y_true, y_pred)
    return y_pred.astype(np.float64) - y_true


@register("mean_squared_error", aliases=("mse",))
class MeanSquaredError(MeanMetricWrapper):
    """mean((y_true - y_pred)^2) over the last axis."""

    def __init__(self, name: str | None = None, dtype: str = "float32") -> None:
        super().__init__(lambda t, p: np.mean(np.square(_error(self.name, t, p)), axis=-1),
                         name=name or "mean_squared_error", dtype=dtype)


@register("mean_absolute_error", aliases=("mae",))
class MeanAbsoluteError(MeanMetricWrapper):
    """mean(|y_true - y_pred|) over the last axis."""

    def __init__(self, name: str | None = None, dtype: str = "float32") -> None:
        super().__init__(lambda t, p: np.mean(np.abs(_error(self.name, t, p)), axis=-1),
                         name=name or "mean_absolute_error", dtype=dtype)


@register("root_mean_squared_error")
class RootMeanSquaredError(Mean):
    """sqrt(weighted mean of (y_pred - y_true)^2 over every element seen)."""

    def __init__(self, name: str | None = None, dtype: str | None = "float32") -> None:
        super().__init__(name=name or "root_mean_squared_error", dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        error = _error(self.name, _array(self.name, "y_true", y_true), _array(self.name, "y_pred", y_pred))
        super().update_state(error * error, sample_weight)

    def result(self) -> float:
        return math.sqrt(super().result())


class _LossMetric(MeanMetricWrapper):
    """The weighted mean of a loss's per-sample values (y_pred as given: a softmax output keeps its logits)."""

    loss_class: type = losses.Loss
    sign = 1.0

    def __init__(self, name: str | None = None, dtype: str | None = "float32", **config: Any) -> None:
        self.loss = self.loss_class(reduction="none", **config)
        self._config = config
        super().__init__(self._values, name=name or self.loss.name, dtype=dtype)

    def _values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return self.sign * self.loss(y_true, y_pred).data

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._config}


@register("mean_absolute_percentage_error", aliases=("mape",))
class MeanAbsolutePercentageError(_LossMetric):
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)) over the last axis."""

    loss_class = losses.MeanAbsolutePercentageError


@register("mean_squared_logarithmic_error", aliases=("msle",))
class MeanSquaredLogarithmicError(_LossMetric):
    """mean((log(y_pred + 1) - log(y_true + 1))^2) over the last axis."""

    loss_class = losses.MeanSquaredLogarithmicError


@register("logcosh", aliases=("log_cosh", "log_cosh_error"))
class LogCoshError(_LossMetric):
    """mean(log(cosh(y_pred - y_true))) over the last axis (Keras' metric name 'logcosh')."""

    loss_class = losses.LogCosh

    def __init__(self, name: str | None = None, dtype: str | None = "float32") -> None:
        super().__init__(name=name or "logcosh", dtype=dtype)


@register("cosine_similarity")
class CosineSimilarity(_LossMetric):
    """+cosine of the angle between y_true and y_pred along axis (the loss is its negative)."""

    loss_class = losses.CosineSimilarity
    sign = -1.0

    def __init__(self, name: str | None = None, dtype: str | None = "float32", axis: int = -1) -> None:
        super().__init__(name=name, dtype=dtype, axis=axis)


@register("binary_crossentropy")
class BinaryCrossentropy(_LossMetric):
    """Mean binary crossentropy."""

    loss_class = losses.BinaryCrossentropy

    def __init__(self, name: str | None = None, dtype: str | None = "float32", from_logits: bool = False,
                 label_smoothing: float = 0.0) -> None:
        super().__init__(name=name, dtype=dtype, from_logits=from_logits, label_smoothing=label_smoothing)


@register("categorical_crossentropy")
class CategoricalCrossentropy(_LossMetric):
    """Mean categorical crossentropy (one-hot labels)."""

    loss_class = losses.CategoricalCrossentropy

    def __init__(self, name: str | None = None, dtype: str | None = "float32", from_logits: bool = False,
                 label_smoothing: float = 0.0) -> None:
        super().__init__(name=name, dtype=dtype, from_logits=from_logits, label_smoothing=label_smoothing)


@register("sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(_LossMetric):
    """Mean sparse categorical crossentropy (integer labels)."""

    loss_class = losses.SparseCategoricalCrossentropy

    def __init__(self, name: str | None = None, dtype: str | None = "float32", from_logits: bool = False) -> None:
        super().__init__(name=name, dtype=dtype, from_logits=from_logits)


@register("kl_divergence", aliases=("kld",))
class KLDivergence(_LossMetric):
    """Mean Kullback-Leibler divergence."""

    loss_class = losses.KLDivergence


@register("poisson")
class Poisson(_LossMetric):
    """Mean Poisson loss."""

    loss_class = losses.Poisson


@register("hinge")
class Hinge(_LossMetric):
    """Mean hinge loss."""

    loss_class = losses.Hinge


@register("squared_hinge")
class SquaredHinge(_LossMetric):
    """Mean squared hinge loss."""

    loss_class = losses.SquaredHinge


@register("categorical_hinge")
class CategoricalHinge(_LossMetric):
    """Mean categorical hinge loss."""

    loss_class = losses.CategoricalHinge


@register("r2_score")
class R2Score(Metric):
    """Coefficient of determination 1 - SS_res / SS_tot per output column, then averaged
    ('uniform_average'), weighted by SS_tot ('variance_weighted_average') or kept (None);
    num_regressors > 0 gives the adjusted R^2."""

    _AGGREGATIONS = ("uniform_average", "variance_weighted_average", None)

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str | None = None, dtype: str | None = "float32") -> None:
        self.class_aggregation = validation.choice(class_aggregation, self._AGGREGATIONS, "R2Score",
                                                   "class_aggregation")
        self.num_regressors = validation.integer(num_regressors, "R2Score", "num_regressors", low=0)
        self._outputs: int | None = None
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        t, p = _same_rank(self.name, _array(self.name, "y_true", y_true).astype(np.float64),
                          _array(self.name, "y_pred", y_pred).astype(np.float64))
        t, p = (t[:, None], p[:, None]) if t.ndim == 1 else (t, p)
        if t.ndim != 2:
            raise ValueError(f"{self.name}: expected y_true and y_pred of rank 1 or 2, received shape {t.shape}")
        if self._outputs is None:
            self._outputs = t.shape[1]
            for field in ("sum", "squared_sum", "total_mse", "count"):
                setattr(self, field, self.add_variable((self._outputs,), "zeros", "float64", name=field))
            self.num_samples = self.add_variable((), "zeros", "float64", name="num_samples")
        w = np.ones(t.shape) if sample_weight is None else _array(self.name, "sample_weight", sample_weight)
        w = np.broadcast_to(w.reshape(-1, 1) if np.ndim(w) == 1 else w, t.shape).astype(np.float64)
        self.sum.assign_add(np.sum(t * w, axis=0))
        self.squared_sum.assign_add(np.sum(t * t * w, axis=0))
        self.total_mse.assign_add(np.sum((t - p) ** 2 * w, axis=0))
        self.count.assign_add(np.sum(w, axis=0))
        self.num_samples.assign_add(t.shape[0])

    def result(self) -> Any:
        if self._outputs is None:
            return 0.0
        total = self.squared_sum.data - self.sum.data * (self.sum.data / self.count.data)
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = 1.0 - self.total_mse.data / total
        raw = np.where(np.isinf(raw), 0.0, raw)  # Keras: a constant target scores 0
        if self.class_aggregation == "uniform_average":
            score = float(np.mean(raw))
        elif self.class_aggregation == "variance_weighted_average":
            score = float(np.sum(total * raw) / np.sum(total))
        else:
            score = raw
        n, k = float(self.num_samples.data), self.num_regressors
        if k and n - 1 > k:  # adjusted R^2 (Keras warns and skips it when n - 1 <= k)
            score = 1.0 - (1.0 - score) * (n - 1) / (n - k - 1)
        return score

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}

"""Confusion-matrix metrics at thresholds (Keras formulas): TruePositives..., Precision, Recall and the
best-rate-under-a-constraint metrics (PrecisionAtRecall, ...).

A prediction counts as positive when y_pred > threshold; y_true counts as positive when non-zero.
Ratios use Keras' divide_no_nan (0 where the denominator is 0).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad import validation
from minigrad.metrics.base import Metric, _array, _same_rank, register

__all__ = ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision", "Recall",
           "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity"]

EPSILON = 1e-7


def _divide_no_nan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


def _thresholds(owner: str, thresholds: Any, default: float) -> np.ndarray:
    values = np.atleast_1d(np.asarray(default if thresholds is None else thresholds, np.float64))
    if values.ndim != 1 or not values.size or not np.isfinite(values).all():
        raise ValueError(f"{owner}: thresholds must be a float or a list of floats, received {thresholds!r}")
    return values


def _weights(owner: str, sample_weight: Any, shape: tuple[int, ...]) -> np.ndarray:
    if sample_weight is None:
        return np.ones(shape)
    w = _array(owner, "sample_weight", sample_weight).astype(np.float64)
    if w.ndim and w.ndim < len(shape) and w.shape == shape[:w.ndim]:
        w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim))  # per-sample weights over trailing axes
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"{owner}: sample_weight of shape {w.shape} does not fit y_pred of shape {shape}") from None


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, thresholds: np.ndarray, weights: np.ndarray,
                     keep_last_axis: bool = False) -> tuple[np.ndarray, ...]:
    """(tp, fp, tn, fn) per threshold (shape (T,), or (T, L) when keep_last_axis) from flat-or-(N, L) data."""
    positive = y_true.astype(bool)[..., None]
    above = y_pred[..., None] > thresholds  # (..., T)
    w = weights[..., None]
    axes = tuple(range(y_pred.ndim - 1)) if keep_last_axis else tuple(range(y_pred.ndim))
    counts = [np.sum(w * (positive & above), axis=axes), np.sum(w * (~positive & above), axis=axes),
              np.sum(w * (~positive & ~above), axis=axes), np.sum(w * (positive & ~above), axis=axes)]
    return tuple(c.T for c in counts) if keep_last_axis else tuple(counts)


class _Thresholded(Metric):
    """Counts at one or more thresholds, optionally on the top-k scores or one class only."""

    default_threshold = 0.5

    def __init__(self, thresholds: float | Sequence[float] | None = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None, dtype: str | None = "float32") -> None:
        owner = type(self).__name__
        self.init_thresholds = thresholds if not isinstance(thresholds, np.ndarray) else thresholds.tolist()
        if top_k is not None and thresholds is None:  # Keras: every one of the top k counts as positive
            self.thresholds = np.array([-np.inf])
        else:
            self.thresholds = _thresholds(owner, thresholds, self.default_threshold)
        self.top_k = validation.integer(top_k, owner, "top_k", low=1, none=True)
        self.class_id = validation.integer(class_id, owner, "class_id", low=0, none=True)
        super().__init__(name=name, dtype=dtype)
        size = len(self.thresholds)
        self.true_positives = self.add_variable((size,), "zeros", "float64", name="true_positives")
        self.false_positives = self.add_variable((size,), "zeros", "float64", name="false_positives")
        self.true_negatives = self.add_variable((size,), "zeros", "float64", name="true_negatives")
        self.false_negatives = self.add_variable((size,), "zeros", "float64", name="false_negatives")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        owner = self.name
        t, p = _same_rank(owner, _array(owner, "y_true", y_true), _array(owner, "y_pred", y_pred).astype(np.float64))
        if self.top_k is not None:  # outside a row's k best scores (first index wins ties) is never positive
            best = np.argsort(-p, axis=-1, kind="stable")[..., :self.top_k]
            keep = np.zeros(p.shape, bool)
            np.put_along_axis(keep, best, True, axis=-1)
            p = np.where(keep, p, -np.inf)
        w = _weights(owner, sample_weight, p.shape)
        if self.class_id is not None:
            if p.ndim == 0 or self.class_id >= p.shape[-1]:
                raise ValueError(f"{owner}: class_id {self.class_id} is out of range for y_pred of shape {p.shape}")
            t, p, w = t[..., self.class_id], p[..., self.class_id], w[..., self.class_id]
        for variable, count in zip((self.true_positives, self.false_positives, self.true_negatives,
                                    self.false_negatives), confusion_counts(t, p, self.thresholds, w)):
            variable.assign_add(count)

    def _scalar_or_list(self, values: np.ndarray) -> Any:
        return float(values[0]) if np.ndim(self.init_thresholds) == 0 else values

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


@register("precision")
class Precision(_Thresholded):
    """tp / (tp + fp) at each threshold (default 0.5; with top_k and no thresholds, any top-k score)."""

    def result(self) -> Any:
        tp, fp = self.true_positives.data, self.false_positives.data
        return self._scalar_or_list(_divide_no_nan(tp, tp + fp))


@register("recall")
class Recall(_Thresholded):
    """tp / (tp + fn) at each threshold (default 0.5; with top_k and no thresholds, any top-k score)."""

    def result(self) -> Any:
        tp, fn = self.true_positives.data, self.false_negatives.data
        return self._scalar_or_list(_divide_no_nan(tp, tp + fn))


class _Count(_Thresholded):
    field = "true_positives"

    def __init__(self, thresholds: float | Sequence[float] | None = None, name: str | None = None,
                 dtype: str | None = "float32") -> None:
        super().__init__(thresholds=thresholds, name=name, dtype=dtype)

    def result(self) -> Any:
        return self._scalar_or_list(getattr(self, self.field).data.copy())

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}


@register("true_positives")
class TruePositives(_Count):
    """Weighted count of positives predicted positive (y_pred > threshold, default 0.5)."""


@register("false_positives")
class FalsePositives(_Count):
    """Weighted count of negatives predicted positive."""

    field = "false_positives"


@register("true_negatives")
class TrueNegatives(_Count):
    """Weighted count of negatives predicted negative."""

    field = "true_negatives"


@register("false_negatives")
class FalseNegatives(_Count):
    """Weighted count of positives predicted negative."""

    field = "false_negatives"


class _AtConstraint(_Thresholded):
    """Best value of one rate among the thresholds where another rate meets `value` (Keras'
    SensitivitySpecificityBase: thresholds 0, the num_thresholds - 2 evenly spaced ones, 1)."""

    constraint = ""  # the constructor argument's name: 'recall', 'precision', 'specificity', 'sensitivity'

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = "float32") -> None:
        owner = type(self).__name__
        self.value = validation.real(value, owner, self.constraint, low=0, high=1)
        self.num_thresholds = validation.integer(num_thresholds, owner, "num_thresholds", low=1)
        grid = [0.5] if num_thresholds == 1 else [0.0] + [(i + 1) / (num_thresholds - 1)
                                                          for i in range(num_thresholds - 2)] + [1.0]
        super().__init__(thresholds=grid, class_id=class_id, name=name, dtype=dtype)

    def rates(self) -> dict[str, np.ndarray]:
        tp, fp, tn, fn = (v.data for v in (self.true_positives, self.false_positives, self.true_negatives,
                                            self.false_negatives))
        recall = _divide_no_nan(tp, tp + fn)
        return {"recall": recall, "sensitivity": recall, "precision": _divide_no_nan(tp, tp + fp),
                "specificity": _divide_no_nan(tn, tn + fp)}

    def best(self, constrained: str, dependent: str) -> float:
        """max(dependent) where constrained >= value, 0 if no threshold qualifies."""
        rates = self.rates()
        feasible = rates[constrained] >= self.value
        return float(rates[dependent][feasible].max(initial=0.0)) if feasible.any() else 0.0

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, self.constraint: self.value,
                "num_thresholds": self.num_thresholds, "class_id": self.class_id}


@register("precision_at_recall")
class PrecisionAtRecall(_AtConstraint):
    """The best precision among thresholds whose recall >= recall."""

    constraint = "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = "float32") -> None:
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        return self.best("recall", "precision")


@register("recall_at_precision")
class RecallAtPrecision(_AtConstraint):
    """The best recall among thresholds whose precision >= precision (0 if none reaches it)."""

    constraint = "precision"

    def __init__(self, precision: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = "float32") -> None:
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        return self.best("precision", "recall")


@register("sensitivity_at_specificity")
class SensitivityAtSpecificity(_AtConstraint):
    """The best sensitivity (recall) among thresholds whose specificity >= specificity."""

    constraint = "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = "float32") -> None:
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        return self.best("specificity", "sensitivity")


@register("specificity_at_sensitivity")
class SpecificityAtSensitivity(_AtConstraint):
    """The best specificity among thresholds whose sensitivity (recall) >= sensitivity."""

    constraint = "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: str | None = "float32") -> None:
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        return self.best("sensitivity", "specificity")

"""F-scores per class (Keras formulas): FBetaScore and F1Score."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import validation
from minigrad.metrics.base import Metric, _array, register
from minigrad.metrics.confusion import _divide_no_nan

__all__ = ["FBetaScore", "F1Score"]

_AVERAGES = (None, "micro", "macro", "weighted")


@register("fbeta_score")
class FBetaScore(Metric):
    """(1 + beta^2) P R / (beta^2 P + R) per class from (N, C) one-hot y_true; averaged if `average`.

    threshold=None marks each row's highest score(s) positive, else y_pred > threshold.
    """

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str | None = None, dtype: str | None = "float32") -> None:
        owner = type(self).__name__
        self.average = validation.choice(average, _AVERAGES, owner, "average")
        self.beta = validation.real(beta, owner, "beta", low=0, low_open=True)
        self.threshold = validation.real(threshold, owner, "threshold", low=0, high=1, low_open=True, none=True)
        self._classes: int | None = None
        super().__init__(name=name, dtype=dtype)

    def _build(self, classes: int) -> None:
        self._classes = classes
        for field in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            setattr(self, field, self.add_variable((classes,), "zeros", "float64", name=field))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        t = _array(self.name, "y_true", y_true).astype(np.float64)
        p = _array(self.name, "y_pred", y_pred).astype(np.float64)
        if p.ndim != 2 or t.shape != p.shape:
            raise ValueError(f"{self.name}: expected y_true and y_pred of one shape (N, C), received "
                             f"{t.shape} and {p.shape}")
        if self._classes is None:
            self._build(p.shape[1])
        elif p.shape[1] != self._classes:
            raise ValueError(f"{self.name}: expected {self._classes} classes, received y_pred of shape {p.shape}")
        hit = p == p.max(axis=-1, keepdims=True) if self.threshold is None else p > self.threshold
        hit = hit.astype(np.float64)
        w = np.ones((p.shape[0], 1)) if sample_weight is None else \
            _array(self.name, "sample_weight", sample_weight).astype(np.float64).reshape(p.shape[0], -1)
        self.true_positives.assign_add(np.sum(hit * t * w, axis=0))
        self.false_positives.assign_add(np.sum(hit * (1 - t) * w, axis=0))
        self.false_negatives.assign_add(np.sum((1 - hit) * t * w, axis=0))
        self.intermediate_weights.assign_add(np.sum(t * w, axis=0))

    def result(self) -> Any:
        if self._classes is None:
            return 0.0
        tp, fp, fn = self.true_positives.data, self.false_positives.data, self.false_negatives.data
        if self.average == "micro":
            precision, recall = _divide_no_nan(tp.sum(), (tp + fp).sum()), _divide_no_nan(tp.sum(), (tp + fn).sum())
        else:
            precision, recall = _divide_no_nan(tp, tp + fp), _divide_no_nan(tp, tp + fn)
        b2 = self.beta ** 2
        score = _divide_no_nan(precision * recall, b2 * precision + recall) * (1 + b2)
        if self.average == "weighted":
            weights = self.intermediate_weights.data
            return float(np.sum(score * _divide_no_nan(weights, weights.sum())))
        return float(np.mean(score)) if self.average is not None else score

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


@register("f1_score")
class F1Score(FBetaScore):
    """FBetaScore with beta = 1: 2 P R / (P + R)."""

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str | None = None,
                 dtype: str | None = "float32") -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config

"""AUC: area under the ROC or PR curve from confusion counts at fixed thresholds (Keras' approximation).

Thresholds are num_thresholds - 2 evenly spaced values in (0, 1) plus -1e-7 and 1 + 1e-7 (or the
given list plus those ends). ROC uses the trapezoid rule ('interpolation'); PR with 'interpolation'
uses Davis & Goadrich's interpolation of true and false positives between thresholds, as Keras.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad import validation
from minigrad.metrics.base import Metric, _array, _same_rank, register
from minigrad.metrics.confusion import EPSILON, _divide_no_nan, _weights, confusion_counts

__all__ = ["AUC"]

_CURVES = ("ROC", "PR")
_SUMMATIONS = ("interpolation", "minoring", "majoring")


@register("auc")
class AUC(Metric):
    """Area under the ROC (default) or PR curve, approximated on num_thresholds thresholds."""

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype: str | None = "float32", thresholds: Sequence[float] | None = None,
                 multi_label: bool = False, num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False) -> None:
        owner = "AUC"
        self.curve = validation.choice(curve, _CURVES, owner, "curve", fold_case=True)
        self.summation_method = validation.choice(summation_method, _SUMMATIONS, owner, "summation_method",
                                                  fold_case=True)
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            self.num_thresholds = len(inner) + 2
        else:
            self.num_thresholds = validation.integer(num_thresholds, owner, "num_thresholds", low=2)
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        if num_labels and not multi_label:
            raise ValueError(f"{owner}: num_labels is needed only when multi_label=True")
        self._init_thresholds = None if thresholds is None else inner
        self._thresholds = np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON])
        self.multi_label, self.num_labels, self.from_logits = bool(multi_label), num_labels, bool(from_logits)
        self.label_weights = None if label_weights is None else np.asarray(label_weights, np.float64)
        self._built_labels: int | None = None
        super().__init__(name=name, dtype=dtype)
        if not self.multi_label:
            self._build(None)
        elif num_labels:
            self._build(num_labels)

    @property
    def thresholds(self) -> list[float]:
        """Every threshold, the two end points included."""
        return list(self._thresholds)

    def _build(self, labels: int | None) -> None:
        shape = (self.num_thresholds,) if labels is None else (self.num_thresholds, labels)
        self._built_labels = labels if labels is not None else 0
        self.true_positives = self.add_variable(shape, "zeros", "float64", name="true_positives")
        self.false_positives = self.add_variable(shape, "zeros", "float64", name="false_positives")
        self.true_negatives = self.add_variable(shape, "zeros", "float64", name="true_negatives")
        self.false_negatives = self.add_variable(shape, "zeros", "float64", name="false_negatives")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        t, p = _same_rank(self.name, _array(self.name, "y_true", y_true),
                          _array(self.name, "y_pred", y_pred).astype(np.float64))
        if self.from_logits:
            p = 1.0 / (1.0 + np.exp(-p))
        w = _weights(self.name, sample_weight, p.shape)
        if self.multi_label:
            if p.ndim != 2:
                raise ValueError(f"AUC: y_pred must have rank 2 (N, labels) when multi_label=True, "
                                 f"received shape {p.shape}")
            if self._built_labels is None:
                self._build(p.shape[1])
            elif p.shape[1] != self._built_labels:
                raise ValueError(f"AUC: expected {self._built_labels} labels, received y_pred of shape {p.shape}")
        elif self.label_weights is not None:
            w = w * self.label_weights  # weights by label index on the flattened data
        counts = confusion_counts(t, p, self._thresholds, w, keep_last_axis=self.multi_label)
        for variable, count in zip((self.true_positives, self.false_positives, self.true_negatives,
                                    self.false_negatives), counts):
            variable.assign_add(count)

    def _average(self, per_label: np.ndarray) -> float:
        if not self.multi_label:
            return float(per_label.sum())
        by_label = per_label.sum(axis=0)
        if self.label_weights is None:
            return float(by_label.mean())
        return float(_divide_no_nan(np.sum(by_label * self.label_weights), np.sum(self.label_weights)))

    def _interpolate_pr(self, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> float:
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), _divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increment = _divide_no_nan(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
        return self._average(increment)

    def result(self) -> float:
        if self._built_labels is None:
            return 0.0
        tp, fp, tn, fn = (v.data for v in (self.true_positives, self.false_positives, self.true_negatives,
                                            self.false_negatives))
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr(tp, fp, fn)
        recall = _divide_no_nan(tp, tp + fn)
        x, y = (_divide_no_nan(fp, fp + tn), recall) if self.curve == "ROC" else (recall, _divide_no_nan(tp, tp + fp))
        pick = {"interpolation": lambda a, b: (a + b) / 2, "minoring": np.minimum, "majoring": np.maximum}
        heights = pick[self.summation_method](y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "from_logits": self.from_logits,
                  "label_weights": None if self.label_weights is None else self.label_weights.tolist()}
        if self._init_thresholds is not None:
            config["thresholds"] = list(self._init_thresholds)
        return config

"""Stateful metrics (Keras names and formulas): update_state / result / reset_state.

`get('accuracy', loss=..., y_shape=..., y_pred_shape=...)` picks binary, sparse or categorical
accuracy as Keras' compile does; with nothing to go on it decides on the first update_state.
Custom metrics keep their state in `self.add_variable(...)` variables, as in Keras 3.
"""
from __future__ import annotations

from typing import Any

from minigrad.metrics.accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                                       SparseTopKCategoricalAccuracy, TopKCategoricalAccuracy)
from minigrad.metrics.auc import AUC
from minigrad.metrics.base import (Mean, MeanMetricWrapper, Metric, MetricVariable, Sum, _array, deserialize,
                                   get as _get, register, registry, serialize)
from minigrad.metrics.confusion import (FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall,
                                        RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
                                        TrueNegatives, TruePositives)
from minigrad.metrics.fscore import F1Score, FBetaScore
from minigrad.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from minigrad.metrics.regression import (BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge,
                                         CosineSimilarity, Hinge, KLDivergence, LogCoshError, MeanAbsoluteError,
                                         MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError,
                                         Poisson, R2Score, RootMeanSquaredError, SparseCategoricalCrossentropy,
                                         SquaredHinge)

__all__ = ["Metric", "MetricVariable", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy", "BinaryAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
           "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "LogCoshError", "CosineSimilarity", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge",
           "SquaredHinge", "CategoricalHinge", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
           "Precision", "Recall", "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
           "SpecificityAtSensitivity", "AUC", "FBetaScore", "F1Score", "IoU", "MeanIoU", "BinaryIoU", "OneHotIoU",
           "OneHotMeanIoU", "R2Score",
           "registry", "register", "get",
           "serialize", "deserialize"]


def _accuracy_class(loss: Any, y_shape: Any, y_pred_shape: Any) -> type | None:
    """Keras' choice for 'accuracy': by the loss if it tells, else by the label/prediction shapes."""
    if loss is not None:
        from minigrad import losses

        kind = type(losses.get(loss)).__name__
        chosen = {"SparseCategoricalCrossentropy": SparseCategoricalAccuracy,
                  "CategoricalCrossentropy": CategoricalAccuracy, "BinaryCrossentropy": BinaryAccuracy}.get(kind)
        if chosen is not None:
            return chosen
    if y_shape is not None and y_pred_shape is not None:
        y_shape, y_pred_shape = tuple(y_shape), tuple(y_pred_shape)
        if y_pred_shape[-1] == 1:
            return BinaryAccuracy
        if len(y_shape) < len(y_pred_shape) or y_shape[-1] == 1:
            return SparseCategoricalAccuracy
        return CategoricalAccuracy
    if y_shape is not None and len(tuple(y_shape)) >= 2 and tuple(y_shape)[-1] > 1:
        return CategoricalAccuracy
    return None


class _InferredAccuracy(Metric):
    """'accuracy' whose kind (binary/sparse/categorical) is chosen from the first batch's shapes."""

    def reset_state(self) -> None:
        if getattr(self, "inner", None) is not None:
            self.inner.reset_state()
        else:
            self.inner = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if self.inner is None:
            t, p = _array(self.name, "y_true", y_true), _array(self.name, "y_pred", y_pred)
            self.inner = _accuracy_class(None, t.shape, p.shape)(name=self.name)
        self.inner.update_state(y_true, y_pred, sample_weight)

    def result(self) -> float:
        return 0.0 if self.inner is None else self.inner.result()


def get(identifier: Any, *, loss: Any = None, y_shape: Any = None, y_pred_shape: Any = None) -> Metric | None:
    """None -> None; instance -> itself; class/name -> instance (named after the string); dict; function.

    'accuracy' / 'acc' become binary, sparse or categorical accuracy (named 'accuracy' / 'acc') from the
    loss or the label and prediction shapes, as Keras' compile does.
    """
    if isinstance(identifier, str) and identifier in ("accuracy", "acc"):
        cls = _accuracy_class(loss, y_shape, y_pred_shape)
        return cls(name=identifier) if cls is not None else _InferredAccuracy(name=identifier)
    return _get(identifier)

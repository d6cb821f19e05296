"""Intersection-over-union metrics from a weighted confusion matrix (Keras formulas): IoU, MeanIoU,
BinaryIoU, OneHotIoU, OneHotMeanIoU.

iou[c] = tp[c] / (tp[c] + fp[c] + fn[c] + 1e-7); the result averages the target classes whose
denominator is not 0 (divided by their count + 1e-7), as Keras 3.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad import validation
from minigrad.metrics.base import Metric, _array, register

__all__ = ["IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU"]

EPSILON = 1e-7


@register("iou")
class IoU(Metric):
    """Mean IoU over target_class_ids (class ids, or argmax of one-hot when sparse_* is False)."""

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: str | None = None,
                 dtype: str | None = "float32", ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1) -> None:
        owner = type(self).__name__
        num_classes = validation.integer(num_classes, owner, "num_classes", low=1)
        ids = list(target_class_ids)
        if not ids or any(not validation.is_int(c) or not 0 <= c < num_classes for c in ids):
            raise ValueError(f"{owner}: target_class_ids must be class ids in [0, {num_classes}), received "
                             f"{target_class_ids!r}")
        self.num_classes, self.target_class_ids = num_classes, [int(c) for c in ids]
        self.ignore_class, self.axis = ignore_class, axis
        self.sparse_y_true, self.sparse_y_pred = bool(sparse_y_true), bool(sparse_y_pred)
        super().__init__(name=name, dtype=dtype)
        self.total_cm = self.add_variable((num_classes, num_classes), "zeros", "float64", name="total_confusion_matrix")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        t, p = _array(self.name, "y_true", y_true), _array(self.name, "y_pred", y_pred)
        t = t if self.sparse_y_true else np.argmax(t, axis=self.axis)
        p = p if self.sparse_y_pred else np.argmax(p, axis=self.axis)
        t, p = t.astype(np.int64).reshape(-1), p.astype(np.int64).reshape(-1)  # Keras casts class ids to int
        if t.shape != p.shape:
            raise ValueError(f"{self.name}: y_true and y_pred hold {t.size} and {p.size} class ids; they must match")
        w = np.ones(t.shape) if sample_weight is None else np.broadcast_to(
            _array(self.name, "sample_weight", sample_weight).astype(np.float64).reshape(-1), t.shape)
        keep = np.ones(t.shape, bool) if self.ignore_class is None else t != self.ignore_class
        t, p, w = t[keep], p[keep], w[keep]
        if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= self.num_classes):
            raise ValueError(f"{self.name}: class ids must be in [0, {self.num_classes - 1}], received values in "
                             f"[{min(t.min(), p.min())}, {max(t.max(), p.max())}]")
        cm = np.zeros((self.num_classes, self.num_classes))
        np.add.at(cm, (t, p), w)
        self.total_cm.assign_add(cm)

    def result(self) -> float:
        cm = self.total_cm.data
        tp = np.diag(cm)
        denominator = (cm.sum(axis=0) + cm.sum(axis=1) - tp)[self.target_class_ids]
        iou = tp[self.target_class_ids] / (denominator + EPSILON)
        return float(np.sum(iou) / (np.sum(denominator > 1e-9) + EPSILON))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


@register("mean_iou")
class MeanIoU(IoU):
    """IoU averaged over every class (classes never seen or predicted are skipped)."""

    def __init__(self, num_classes: int, name: str | None = None, dtype: str | None = "float32",
                 ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1) -> None:
        super().__init__(num_classes, list(range(num_classes)) if isinstance(num_classes, int) else [], name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["target_class_ids"]
        return config


@register("binary_iou")
class BinaryIoU(IoU):
    """IoU of classes 0/1 after thresholding scores (class 1 where y_pred >= threshold)."""

    def __init__(self, target_class_ids: Sequence[int] = (0, 1), threshold: float = 0.5, name: str | None = None,
                 dtype: str | None = "float32") -> None:
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = float(threshold)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        super().update_state(y_true, _array(self.name, "y_pred", y_pred) >= self.threshold, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "target_class_ids": self.target_class_ids,
                "threshold": self.threshold}


@register("one_hot_iou")
class OneHotIoU(IoU):
    """IoU of target classes from one-hot labels and score vectors (argmax over axis)."""

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: str | None = None,
                 dtype: str | None = "float32", ignore_class: int | None = None, sparse_y_pred: bool = False,
                 axis: int = -1) -> None:
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


@register("one_hot_mean_iou")
class OneHotMeanIoU(MeanIoU):
    """MeanIoU from one-hot labels and score vectors (argmax over axis)."""

    def __init__(self, num_classes: int, name: str | None = None, dtype: str | None = "float32",
                 ignore_class: int | None = None, sparse_y_pred: bool = False, axis: int = -1) -> None:
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config

"""Probabilistic losses: the crossentropies (fused with the softmax/sigmoid that made y_pred), KLDivergence, Poisson.

Cross-entropy on probabilities produced by a softmax (or sigmoid) op uses that op's logits and the
fused, stable kernel, in training and under no_grad alike, as Keras (TF backend, `_keras_logits`)
does; other probabilities are clipped to [1e-7, 1 - 1e-7] before the log.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import validation
from minigrad._ext._tensor import make_tensor
from minigrad.losses.base import EPSILON, Loss, register
from minigrad.ops import apply
from minigrad.ops.activation import logits_of
from minigrad.tensor import Tensor

__all__ = ["CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy", "KLDivergence",
           "Poisson", "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy"]


def _producer_input(y_pred: Tensor, op_name: str) -> Tensor | None:
    """The logits that op_name ('softmax' over the last axis, or 'sigmoid') turned into y_pred: the
    graph's input tensor when one was recorded (so gradients reach it), else the logits the op kept
    (under no_grad), so training and evaluation compute one formula as Keras does."""
    node = y_pred.node
    if node is not None and node.inputs is not None and node.ctx is not None \
            and getattr(node.op, "name", None) == op_name:
        axis = node.ctx.attrs.get("axis", -1)
        return node.inputs[0] if axis in (-1, y_pred.data.ndim - 1) else None
    logits = logits_of(y_pred.data, op_name)
    return None if logits is None else make_tensor(logits, False)


def _rows(t: Tensor, classes: int) -> Tensor:
    return t if t.data.ndim == 2 else apply("reshape", t, shape=(-1, classes))


class _SmoothedCrossentropy(Loss):
    """What the categorical and binary crossentropies share: from_logits and label_smoothing."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, name: str | None = None,
                 reduction: str = "sum_over_batch_size") -> None:
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)
        self.label_smoothing = validation.real(label_smoothing, type(self).__name__, "label_smoothing", low=0, high=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


@register("categorical_crossentropy")
class CategoricalCrossentropy(_SmoothedCrossentropy):
    """-sum(y_true * log(softmax)) over the class axis; y_true one-hot (or soft) of y_pred's shape (N, C)."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        owner, shape = type(self).__name__, y_pred.data.shape
        if y_true.shape != shape:
            hint = ("; these look like integer class labels: use SparseCategoricalCrossentropy "
                    "(loss='sparse_categorical_crossentropy') or one-hot encode them with to_categorical"
                    if y_true.shape in (shape[:-1], shape[:-1] + (1,)) else "")
            raise ValueError(f"{owner}: expected one-hot labels of shape {shape} (the shape of y_pred), "
                             f"received y_true of shape {y_true.shape}{hint}")
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            raise ValueError(f"{owner}: expected one-hot (or probability) labels in [0, 1], received values in "
                             f"[{y_true.min()}, {y_true.max()}]")
        classes = shape[-1]
        y = y_true.astype(y_pred.data.dtype)
        if self.label_smoothing:
            y = y * (1 - self.label_smoothing) + self.label_smoothing / classes
        logits = y_pred if self.from_logits else _producer_input(y_pred, "softmax")
        if logits is not None:
            per = apply("softmax_cross_entropy", _rows(logits, classes), y.reshape(-1, classes))
            return per if len(shape) == 2 else apply("reshape", per, shape=shape[:-1])
        p = (y_pred / y_pred.sum(axis=-1, keepdims=True)).clip(EPSILON, 1.0 - EPSILON)
        return -(p.log() * y).sum(axis=-1)



@register("sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(Loss):
    """-log(softmax[label]) per sample; y_true integer class indices of shape (N,) (or (N, 1)).

    Entries labelled ignore_class count 0 and, for the mean reductions, the mean runs over the others
    (Keras' mask)."""

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None, name: str | None = None,
                 reduction: str | None = "sum_over_batch_size") -> None:
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)
        self.ignore_class = validation.integer(ignore_class, type(self).__name__, "ignore_class", none=True)

    def _class_labels(self, y_true: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        owner = type(self).__name__
        if len(shape) < 2:
            raise ValueError(f"{owner}: expected y_pred of shape (N, C) with a class axis, received {shape}")
        labels = y_true.reshape(shape[:-1]) if y_true.shape == shape[:-1] + (1,) else y_true
        if labels.shape != shape[:-1]:
            hint = ("; these look like one-hot labels: use CategoricalCrossentropy "
                    "(loss='categorical_crossentropy')" if labels.shape == shape else "")
            raise ValueError(f"{owner}: expected integer class labels of shape {shape[:-1]} for y_pred of shape "
                             f"{shape}, received y_true of shape {y_true.shape}{hint}")
        if labels.dtype.kind == "f" and not np.array_equal(labels, np.floor(labels)):
            raise ValueError(f"{owner}: expected integer class labels, received non-integer values")
        counted = labels if self.ignore_class is None else labels[labels != self.ignore_class]
        if counted.size and (counted.min() < 0 or counted.max() >= shape[-1]):
            raise ValueError(f"{owner}: expected class labels in [0, {shape[-1] - 1}] for {shape[-1]} classes, "
                             f"received values in [{counted.min()}, {counted.max()}]")
        return labels.astype(np.int64)

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        shape = y_pred.data.shape
        labels = self._class_labels(y_true, shape)
        valid = None if self.ignore_class is None else labels != self.ignore_class
        labels = (labels if valid is None else np.where(valid, labels, 0)).reshape(-1)
        classes = shape[-1]
        logits = y_pred if self.from_logits else _producer_input(y_pred, "softmax")
        if logits is not None:
            per = apply("sparse_softmax_cross_entropy", _rows(logits, classes), labels)
            per = per if len(shape) == 2 else apply("reshape", per, shape=shape[:-1])
        else:
            onehot = np.zeros((labels.size, classes), y_pred.data.dtype)
            onehot[np.arange(labels.size), labels] = 1
            p = (y_pred / y_pred.sum(axis=-1, keepdims=True)).clip(EPSILON, 1.0 - EPSILON)
            per = -(p.log() * onehot.reshape(shape)).sum(axis=-1)
        if valid is None:
            return per
        weight = valid.astype(y_pred.data.dtype)
        if self.reduction in ("sum_over_batch_size", "mean"):
            weight *= valid.size / (valid.sum() + EPSILON)
        return per * weight

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits, "ignore_class": self.ignore_class}


@register("binary_crossentropy")
class BinaryCrossentropy(_SmoothedCrossentropy):
    """-(y log p + (1-y) log(1-p)) averaged over the last axis; y_true in [0, 1] of y_pred's shape."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        y = self._same_shape(y_true, y_pred, "binary labels")
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"{type(self).__name__}: expected labels in [0, 1], received values in "
                             f"[{y.min()}, {y.max()}]")
        if self.label_smoothing:
            y = y * (1 - self.label_smoothing) + 0.5 * self.label_smoothing
        x = y_pred if self.from_logits else _producer_input(y_pred, "sigmoid")
        if x is not None:  # max(x, 0) - x*y + log(1 + exp(-|x|)): no overflow for any x
            per = x.maximum(0.0) - x * y + ((-x.abs()).exp() + 1.0).log()
        else:
            p = y_pred.clip(EPSILON, 1.0 - EPSILON)
            per = -(p.log() * y + (1.0 - p).log() * (1.0 - y))
        return per.mean(axis=-1)





@register("kl_divergence", aliases=("kld", "KLD", "kullback_leibler_divergence"))
class KLDivergence(Loss):
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1]."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        y = np.clip(self._same_shape(y_true, y_pred, "probabilities"), EPSILON, 1.0)
        return (apply("log", y / y_pred.clip(EPSILON, 1.0)) * y).sum(axis=-1)


@register("poisson")
class Poisson(Loss):
    """mean(y_pred - y_true * log(y_pred + 1e-7)) over the last axis."""

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        y = self._same_shape(y_true, y_pred, "counts")
        return (y_pred - (y_pred + EPSILON).log() * y).mean(axis=-1)


def _last_axis_only(owner: str, axis: int) -> int:
    if axis != -1:
        raise ValueError(f"{owner}: only axis=-1 is supported, received axis={axis!r}")
    return axis


@register("binary_focal_crossentropy")
class BinaryFocalCrossentropy(Loss):
    """mean((1 - p_t)^gamma * bce) over the last axis, p_t = y p + (1 - y)(1 - p); with
    apply_class_balancing, times alpha (positives) or 1 - alpha (negatives)."""

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str | None = None) -> None:
        super().__init__(name=name, reduction=reduction)
        self.apply_class_balancing, self.alpha, self.gamma = bool(apply_class_balancing), float(alpha), float(gamma)
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)
        self.axis = _last_axis_only(type(self).__name__, axis)

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        from minigrad.ops.nn import binary_crossentropy

        y = self._same_shape(y_true, y_pred, "binary labels")
        if self.label_smoothing:
            y = y * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        p = apply("sigmoid", y_pred) if self.from_logits else y_pred
        bce = binary_crossentropy(y, p)  # elementwise; a sigmoid output goes through its logits
        p_t = p * y + (1.0 - p) * (1.0 - y)
        focal = (1.0 - p_t) ** self.gamma * bce
        if self.apply_class_balancing:
            focal = focal * (y * self.alpha + (1.0 - y) * (1.0 - self.alpha))
        return focal.mean(axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                "gamma": self.gamma, "from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "axis": self.axis}


@register("categorical_focal_crossentropy")
class CategoricalFocalCrossentropy(Loss):
    """sum(alpha * (1 - p)^gamma * -y log p) over the class axis, p normalised and clipped to [1e-7, 1 - 1e-7]."""

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None) -> None:
        super().__init__(name=name, reduction=reduction)
        self.alpha, self.gamma = float(alpha), float(gamma)
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)
        self.axis = _last_axis_only(type(self).__name__, axis)

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        y = self._same_shape(y_true, y_pred, "one-hot labels")
        p = apply("softmax", y_pred, axis=-1) if self.from_logits else y_pred
        p = (p / p.sum(axis=-1, keepdims=True)).clip(EPSILON, 1.0 - EPSILON)
        if self.label_smoothing:
            y = y * (1.0 - self.label_smoothing) + self.label_smoothing / y.shape[-1]
        return ((1.0 - p) ** self.gamma * (-(p.log() * y)) * self.alpha).sum(axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha, "gamma": self.gamma, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}

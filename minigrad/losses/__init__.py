"""Losses (Keras names and formulas): `loss(y_true, y_pred) -> scalar Tensor`, the mean over the batch.

Classes (`losses.KLDivergence()`) reduce per-sample values; the snake_case functions
(`losses.kl_divergence(y_true, y_pred)`) return the per-sample values, as Keras' do.
"""
from __future__ import annotations

from typing import Any

from minigrad.losses.base import EPSILON, Loss, LossFunctionWrapper, deserialize, get, register, registry, serialize
from minigrad.losses.hinge import CategoricalHinge, Hinge, SquaredHinge
from minigrad.losses.overlap import Dice, Tversky
from minigrad.losses.probabilistic import (BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
                                           CategoricalFocalCrossentropy, KLDivergence, Poisson,
                                           SparseCategoricalCrossentropy)
from minigrad.losses.regression import (CosineSimilarity, Huber, LogCosh, MeanAbsoluteError,
                                        MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError)
from minigrad.tensor import Tensor

__all__ = ["Loss", "LossFunctionWrapper", "EPSILON", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "BinaryCrossentropy", "KLDivergence", "Poisson", "MeanSquaredError", "MeanAbsoluteError", "Huber",
           "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "LogCosh", "CosineSimilarity", "Hinge",
           "SquaredHinge", "CategoricalHinge", "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "Dice",
           "Tversky", "registry", "register", "get", "serialize",
           "deserialize", "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
           "mean_squared_logarithmic_error", "huber", "log_cosh", "cosine_similarity", "kl_divergence", "poisson",
           "hinge", "squared_hinge", "categorical_hinge", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "binary_crossentropy", "binary_focal_crossentropy",
           "categorical_focal_crossentropy", "dice", "tversky"]


def _per_sample(cls: type[Loss], y_true: Any, y_pred: Any, **config: Any) -> Tensor:
    return cls(reduction="none", **config)(y_true, y_pred)


def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean((y_true - y_pred)^2, axis=-1) per sample."""
    return _per_sample(MeanSquaredError, y_true, y_pred)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean(|y_true - y_pred|, axis=-1) per sample."""
    return _per_sample(MeanAbsoluteError, y_true, y_pred)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1) per sample."""
    return _per_sample(MeanAbsolutePercentageError, y_true, y_pred)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean((log(y_pred + 1) - log(y_true + 1))^2, axis=-1) per sample."""
    return _per_sample(MeanSquaredLogarithmicError, y_true, y_pred)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """Huber loss per sample (quadratic within delta, linear beyond)."""
    return _per_sample(Huber, y_true, y_pred, delta=delta)


def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """mean(log(cosh(y_pred - y_true)), axis=-1) per sample."""
    return _per_sample(LogCosh, y_true, y_pred)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis) per sample."""
    return _per_sample(CosineSimilarity, y_true, y_pred, axis=axis)


def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """sum(y_true * log(y_true / y_pred), axis=-1) per sample (both clipped to [1e-7, 1])."""
    return _per_sample(KLDivergence, y_true, y_pred)


def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1) per sample."""
    return _per_sample(Poisson, y_true, y_pred)


def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true * y_pred, 0), axis=-1) per sample."""
    return _per_sample(Hinge, y_true, y_pred)


def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true * y_pred, 0)^2, axis=-1) per sample."""
    return _per_sample(SquaredHinge, y_true, y_pred)


def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """max(neg - pos + 1, 0) per sample."""
    return _per_sample(CategoricalHinge, y_true, y_pred)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> Tensor:
    """-sum(y_true * log(softmax)) per sample."""
    from minigrad.ops.nn import categorical_crossentropy as over_axis

    if axis == -1:
        return _per_sample(CategoricalCrossentropy, y_true, y_pred, from_logits=from_logits,
                           label_smoothing=label_smoothing)
    if label_smoothing:
        raise ValueError("categorical_crossentropy: label_smoothing together with axis != -1 is not supported")
    return over_axis(y_true, y_pred, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> Tensor:
    """-log(softmax[label]) per sample (0 where the label is ignore_class)."""
    from minigrad.ops.nn import sparse_categorical_crossentropy as over_axis

    if ignore_class is not None or axis == -1:
        if axis != -1:
            raise ValueError("sparse_categorical_crossentropy: ignore_class together with axis != -1 is not supported")
        return _per_sample(SparseCategoricalCrossentropy, y_true, y_pred, from_logits=from_logits,
                           ignore_class=ignore_class)
    return over_axis(y_true, y_pred, from_logits=from_logits, axis=axis)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0) -> Tensor:
    """mean(-(y log p + (1 - y) log(1 - p)), axis=-1) per sample."""
    return _per_sample(BinaryCrossentropy, y_true, y_pred, from_logits=from_logits, label_smoothing=label_smoothing)


def binary_focal_crossentropy(y_true: Any, y_pred: Any, apply_class_balancing: bool = False, alpha: float = 0.25,
                              gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1) -> Tensor:
    """mean((1 - p_t)^gamma * bce, axis=-1) per sample."""
    return _per_sample(BinaryFocalCrossentropy, y_true, y_pred, apply_class_balancing=apply_class_balancing,
                       alpha=alpha, gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


def categorical_focal_crossentropy(y_true: Any, y_pred: Any, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """sum(alpha * (1 - p)^gamma * -y log p, axis=-1) per sample."""
    return _per_sample(CategoricalFocalCrossentropy, y_true, y_pred, alpha=alpha, gamma=gamma,
                       from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


def dice(y_true: Any, y_pred: Any, axis: Any = None) -> Tensor:
    """1 - 2 sum(y_true * y_pred) / (sum(y_true) + sum(y_pred)) over axis."""
    return _per_sample(Dice, y_true, y_pred, axis=axis)


def tversky(y_true: Any, y_pred: Any, alpha: float = 0.5, beta: float = 0.5, axis: Any = None) -> Tensor:
    """Keras' Tversky loss over axis."""
    return _per_sample(Tversky, y_true, y_pred, alpha=alpha, beta=beta, axis=axis)


MSE = mse = mean_squared_error
MAE = mae = mean_absolute_error
MAPE = mape = mean_absolute_percentage_error
MSLE = msle = mean_squared_logarithmic_error
KLD = kld = kl_divergence
logcosh = log_cosh

"""Losses (Keras names and formulas): `loss(y_true, y_pred) -> scalar Tensor`, the mean over the batch.

Cross-entropy on probabilities produced by a softmax (or sigmoid) op reaches back to the logits
through the graph and uses the fused, stable kernel, as Keras does; other probabilities are clipped
to [1e-7, 1 - 1e-7] before the log.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minigrad.ops import apply
from minigrad.registry import Registry
from minigrad.tensor import Tensor, TensorBase

__all__ = ["Loss", "LossFunctionWrapper", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "BinaryCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "Huber", "registry", "register",
           "get", "serialize", "deserialize"]

EPSILON = 1e-7  # Keras' backend epsilon
_REDUCTIONS = ("sum_over_batch_size", "sum", "none")

registry = Registry("losses", validate=lambda obj: (isinstance(obj, type) and issubclass(obj, Loss)) or callable(obj))


def register(name: str, *, aliases: tuple[str, ...] = (), override: bool = False):
    """Class decorator: register a Loss subclass under a snake_case name."""
    def decorate(cls: type) -> type:
        registry.register(name, cls, aliases=aliases, override=override)
        return cls
    return decorate


class Loss:
    """Base loss: `call(y_true, y_pred)` gives per-sample values, `__call__` reduces them (mean)."""

    def __init__(self, name: str | None = None, reduction: str = "sum_over_batch_size") -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}, received {reduction!r}")
        self.name = name or registry_name(type(self))
        self.reduction = reduction

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """Per-sample losses (times sample_weight) reduced to a scalar: their mean by default."""
        y_pred = self._prediction(y_pred)
        values = self.call(self._labels(y_true), y_pred)
        if sample_weight is not None:
            values = values * self._weights(sample_weight, values)
        if self.reduction == "none":
            return values
        return values.mean() if self.reduction == "sum_over_batch_size" else values.sum()

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}: call is not implemented")

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    # ----- validation shared by every loss
    def _prediction(self, y_pred: Any) -> Tensor:
        if not isinstance(y_pred, TensorBase):
            y_pred = Tensor(np.asarray(y_pred))
        if y_pred.data.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}: expected floating-point predictions, received dtype {y_pred.data.dtype}")
        if y_pred.data.ndim == 0:
            raise ValueError(f"{type(self).__name__}: expected predictions with a batch axis, received a scalar")
        return y_pred

    def _labels(self, y_true: Any) -> np.ndarray:
        y = np.asarray(y_true.data if isinstance(y_true, TensorBase) else y_true)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{type(self).__name__}: expected numeric labels, received dtype {y.dtype}")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError(f"{type(self).__name__}: the labels contain NaN or inf")
        return y

    def _weights(self, sample_weight: Any, values: Tensor) -> np.ndarray:
        w = self._labels(sample_weight).astype(values.data.dtype)
        if w.shape != values.data.shape:  # per-sample weights over any trailing axes of the values
            w = w.reshape(w.shape + (1,) * max(0, values.data.ndim - w.ndim))
            try:
                w = np.broadcast_to(w, values.data.shape)
            except ValueError:
                raise ValueError(f"{type(self).__name__}: sample_weight of shape {np.shape(sample_weight)} does not "
                                 f"fit per-sample losses of shape {values.data.shape}") from None
        return w

    def _same_shape(self, y: np.ndarray, pred: Tensor, what: str) -> np.ndarray:
        """Labels of the predictions' shape; a missing or extra trailing axis of size 1 is tolerated."""
        shape = pred.data.shape
        if y.shape != shape and (y.shape + (1,) == shape or y.shape == shape + (1,)):
            y = y.reshape(shape)
        if y.shape != shape:
            raise ValueError(f"{type(self).__name__}: expected {what} of shape {shape} (the shape of y_pred), "
                             f"received y_true of shape {y.shape}")
        return y.astype(pred.data.dtype, copy=False)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


def registry_name(cls: type) -> str:
    try:
        return registry.name_of(cls)[0]
    except (KeyError, ValueError):
        return cls.__name__


def _producer_input(y_pred: Tensor, op_name: str) -> Tensor | None:
    """The input of the op that produced y_pred, if it is `op_name` over the last axis (graph still alive)."""
    node = y_pred.node
    if node is None or node.inputs is None or node.ctx is None or getattr(node.op, "name", None) != op_name:
        return None
    axis = node.ctx.attrs.get("axis", -1)
    if axis not in (-1, y_pred.data.ndim - 1):
        return None
    return node.inputs[0]


def _rows(t: Tensor, classes: int) -> Tensor:
    return t if t.data.ndim == 2 else apply("reshape", t, shape=(-1, classes))


@register("categorical_crossentropy")
class CategoricalCrossentropy(Loss):
    """-sum(y_true * log(softmax)) over the class axis; y_true one-hot (or soft) of y_pred's shape (N, C)."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, name: str | None = None,
                 reduction: str = "sum_over_batch_size") -> None:
        super().__init__(name=name, reduction=reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"{type(self).__name__}: label_smoothing must be in [0, 1], received {label_smoothing}")
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)

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

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


@register("sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(Loss):
    """-log(softmax[label]) per sample; y_true integer class indices of shape (N,) (or (N, 1))."""

    def __init__(self, from_logits: bool = False, name: str | None = None,
                 reduction: str = "sum_over_batch_size") -> None:
        super().__init__(name=name, reduction=reduction)
        self.from_logits = bool(from_logits)

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        owner, shape = type(self).__name__, y_pred.data.shape
        if len(shape) < 2:
            raise ValueError(f"{owner}: expected y_pred of shape (N, C) with a class axis, received {shape}")
        labels = y_true.reshape(shape[:-1]) if y_true.shape == shape[:-1] + (1,) else y_true
        if labels.shape != shape[:-1]:
            hint = ("; these look like one-hot labels: use CategoricalCrossentropy "
                    "(loss='categorical_crossentropy')" if labels.shape == shape else "")
            raise ValueError(f"{owner}: expected integer class labels of shape {shape[:-1]} for y_pred of shape "
                             f"{shape}, received y_true of shape {y_true.shape}{hint}")
        classes = shape[-1]
        if labels.dtype.kind == "f" and not np.array_equal(labels, np.floor(labels)):
            raise ValueError(f"{owner}: expected integer class labels, received non-integer values")
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            raise ValueError(f"{owner}: expected class labels in [0, {classes - 1}] for {classes} classes, "
                             f"received values in [{labels.min()}, {labels.max()}]")
        labels = labels.astype(np.int64).reshape(-1)
        logits = y_pred if self.from_logits else _producer_input(y_pred, "softmax")
        if logits is not None:
            per = apply("sparse_softmax_cross_entropy", _rows(logits, classes), labels)
            return per if len(shape) == 2 else apply("reshape", per, shape=shape[:-1])
        onehot = np.zeros((labels.size, classes), y_pred.data.dtype)
        onehot[np.arange(labels.size), labels] = 1
        p = (y_pred / y_pred.sum(axis=-1, keepdims=True)).clip(EPSILON, 1.0 - EPSILON)
        return -(p.log() * onehot.reshape(shape)).sum(axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits}


@register("binary_crossentropy")
class BinaryCrossentropy(Loss):
    """-(y log p + (1-y) log(1-p)) averaged over the last axis; y_true in [0, 1] of y_pred's shape."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, name: str | None = None,
                 reduction: str = "sum_over_batch_size") -> None:
        super().__init__(name=name, reduction=reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"{type(self).__name__}: label_smoothing must be in [0, 1], received {label_smoothing}")
        self.from_logits, self.label_smoothing = bool(from_logits), float(label_smoothing)

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

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "from_logits": self.from_logits, "label_smoothing": self.label_smoothing}


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
        if not delta > 0:
            raise ValueError(f"Huber: delta must be > 0, received {delta}")
        self.delta = float(delta)

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        err = (y_pred - self._same_shape(y_true, y_pred, "targets")).abs()
        quad = err.minimum(self.delta)  # 0.5 q^2 + delta (|e| - q) is both branches at once
        return (quad * quad * 0.5 + (err - quad) * self.delta).mean(axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "delta": self.delta}


class LossFunctionWrapper(Loss):
    """A plain function fn(y_true, y_pred) -> per-sample Tensor, reduced like any loss."""

    def __init__(self, fn: Callable[[np.ndarray, Tensor], Tensor], name: str | None = None,
                 reduction: str = "sum_over_batch_size") -> None:
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn = fn

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        out = self.fn(y_true, y_pred)
        return out if isinstance(out, TensorBase) else Tensor(np.asarray(out))


def serialize(loss: Loss) -> dict[str, Any]:
    """{'kind', 'name', 'config'[, 'provider']} of a loss."""
    return registry.serialize(loss)


def deserialize(entry: dict[str, Any]) -> Loss:
    """A loss from serialize()'s dict, resolved through the registry only."""
    return registry.deserialize(entry)


def get(identifier: Any) -> Loss | None:
    """None -> None; instance -> itself; class or name -> instance with defaults; dict -> deserialize."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        obj = registry.get(identifier)
        return obj() if isinstance(obj, type) else LossFunctionWrapper(obj, name=identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise TypeError(f"losses.get: expected None, a Loss, its class, a name, a config dict or a function, "
                    f"received {type(identifier).__name__}")

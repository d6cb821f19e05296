"""Stateful metrics (Keras names and formulas) on ndarrays: update_state / result / reset_state.

`get('accuracy', loss=..., y_shape=..., y_pred_shape=...)` picks binary, sparse or categorical
accuracy as Keras' compile does; with nothing to go on it decides on the first update_state.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minigrad.registry import Registry
from minigrad.tensor import TensorBase

__all__ = ["Metric", "Mean", "MeanMetricWrapper", "Accuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
           "BinaryAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "MeanSquaredError",
           "MeanAbsoluteError", "registry", "register", "get", "serialize", "deserialize"]

registry = Registry("metrics", validate=lambda obj: isinstance(obj, type) and issubclass(obj, Metric))


def register(name: str, *, aliases: tuple[str, ...] = (), override: bool = False):
    """Class decorator: register a Metric subclass under a snake_case name."""
    def decorate(cls: type) -> type:
        registry.register(name, cls, aliases=aliases, override=override)
        return cls
    return decorate


def _array(owner: str, what: str, a: Any) -> np.ndarray:
    a = np.asarray(a.data if isinstance(a, TensorBase) else a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: expected numeric {what}, received dtype {a.dtype}")
    return a


class Metric:
    """A running value over batches: update_state(y_true, y_pred), result() -> float, reset_state()."""

    def __init__(self, name: str | None = None, dtype: str = "float32") -> None:
        self.name = name or _registered_name(type(self))
        self.dtype = dtype
        self.reset_state()

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        raise NotImplementedError(f"{type(self).__name__}: update_state is not implemented")

    def result(self) -> float:
        raise NotImplementedError(f"{type(self).__name__}: result is not implemented")

    def reset_state(self) -> None:
        """Forget every batch seen so far."""

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
        """Update with one batch and return the running result."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} result={self.result():.6g}>"


def _registered_name(cls: type) -> str:
    try:
        return registry.name_of(cls)[0]
    except (KeyError, ValueError):
        return cls.__name__


@register("mean")
class Mean(Metric):
    """Weighted mean of every value passed to update_state(values, sample_weight=None)."""

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0.0

    def update_state(self, values: Any, sample_weight: Any = None, *_: Any) -> None:
        values = _array(self.name, "values", values).astype(np.float64)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += values.size
            return
        w = _array(self.name, "sample_weight", sample_weight).astype(np.float64)
        if w.ndim and values.ndim and w.shape[0] == values.shape[0] and w.ndim < values.ndim:
            w = w.reshape(w.shape + (1,) * (values.ndim - w.ndim))  # per-sample weights over trailing axes
        try:
            w = np.broadcast_to(w, values.shape)
        except ValueError:
            raise ValueError(f"{self.name}: sample_weight of shape {w.shape} does not fit values of shape "
                             f"{values.shape}") from None
        self.total += float((values * w).sum())
        self.count += float(w.sum())

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0  # Keras: divide_no_nan


class MeanMetricWrapper(Mean):
    """Mean of fn(y_true, y_pred) -> per-sample values (ndarrays in, ndarray out)."""

    def __init__(self, fn: Callable[[np.ndarray, np.ndarray], np.ndarray], name: str | None = None,
                 dtype: str = "float32") -> None:
        self.fn = fn
        super().__init__(name=name or getattr(fn, "__name__", type(self).__name__), dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = _array(self.name, "y_true", y_true), _array(self.name, "y_pred", y_pred)
        super().update_state(self.fn(y_true, y_pred), sample_weight)


def _same_rank(owner: str, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras' squeeze_or_expand: tolerate a trailing axis of size 1 on either side, then match shapes."""
    if y_true.shape != y_pred.shape:
        if y_true.shape + (1,) == y_pred.shape:
            y_true = y_true[..., None]
        elif y_true.shape == y_pred.shape + (1,):
            y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{owner}: expected y_true of shape {y_pred.shape} (the shape of y_pred), "
                         f"received shape {y_true.shape}")
    return y_true, y_pred


def _class_axis(owner: str, y_pred: np.ndarray) -> None:
    if y_pred.ndim < 1 or y_pred.shape[-1] < 1:
        raise ValueError(f"{owner}: expected y_pred with a class axis (N, C), received shape {y_pred.shape}")


def _sparse_labels(owner: str, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    _class_axis(owner, y_pred)
    if y_true.shape == y_pred.shape[:-1] + (1,):
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        hint = "; these look like one-hot labels (use categorical accuracy)" if y_true.shape == y_pred.shape else ""
        raise ValueError(f"{owner}: expected integer class labels of shape {y_pred.shape[:-1]} for y_pred of "
                         f"shape {y_pred.shape}, received shape {y_true.shape}{hint}")
    return y_true


@register("accuracy")
class Accuracy(MeanMetricWrapper):
    """Keras' Accuracy class: how often y_pred equals y_true exactly (for class ids, not probabilities)."""

    def __init__(self, name: str | None = None, dtype: str = "float32") -> None:
        super().__init__(lambda t, p: np.equal(*_same_rank(self.name, t, p)), name=name or "accuracy", dtype=dtype)


@register("categorical_accuracy")
class CategoricalAccuracy(MeanMetricWrapper):
    """argmax(y_true) == argmax(y_pred) over the class axis; y_true one-hot of y_pred's shape."""

    def __init__(self, name: str | None = None, dtype: str = "float32") -> None:
        super().__init__(self._values, name=name or "categorical_accuracy", dtype=dtype)

    def _values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        _class_axis(self.name, y_pred)
        if y_true.shape != y_pred.shape:
            hint = "; these look like integer labels (use sparse categorical accuracy)" \
                if y_true.shape in (y_pred.shape[:-1], y_pred.shape[:-1] + (1,)) else ""
            raise ValueError(f"{self.name}: expected one-hot labels of shape {y_pred.shape} (the shape of y_pred), "
                             f"received shape {y_true.shape}{hint}")
        return np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)


@register("sparse_categorical_accuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """y_true == argmax(y_pred) over the class axis; y_true class ids of shape (N,) or (N, 1)."""

    def __init__(self, name: str | None = None, dtype: str = "float32") -> None:
        super().__init__(self._values, name=name or "sparse_categorical_accuracy", dtype=dtype)

    def _values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return _sparse_labels(self.name, y_true, y_pred) == np.argmax(y_pred, axis=-1)


@register("binary_accuracy")
class BinaryAccuracy(MeanMetricWrapper):
    """(y_pred > threshold) == y_true, element-wise."""

    def __init__(self, name: str | None = None, dtype: str = "float32", threshold: float = 0.5) -> None:
        self.threshold = float(threshold)
        super().__init__(self._values, name=name or "binary_accuracy", dtype=dtype)

    def _values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        y_true, y_pred = _same_rank(self.name, y_true, y_pred)
        return y_true == (y_pred > self.threshold)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


def _in_top_k(owner: str, k: int, labels: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    # the target is in the top k when fewer than k classes score strictly higher (ties count as in)
    labels = labels.astype(np.int64)
    classes = y_pred.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{owner}: expected class labels in [0, {classes - 1}], received values in "
                         f"[{labels.min()}, {labels.max()}]")
    target = np.take_along_axis(y_pred, labels[..., None], axis=-1)
    return (y_pred > target).sum(axis=-1) < k


class _TopK(MeanMetricWrapper):
    def __init__(self, k: int = 5, name: str | None = None, dtype: str = "float32") -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"{type(self).__name__}: k must be a positive int, received {k!r}")
        self.k = k
        super().__init__(self._values, name=name or _registered_name(type(self)), dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "k": self.k}


@register("top_k_categorical_accuracy")
class TopKCategoricalAccuracy(_TopK):
    """argmax(y_true) is among the k highest scores of y_pred; y_true one-hot."""

    def _values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        _class_axis(self.name, y_pred)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"{self.name}: expected one-hot labels of shape {y_pred.shape}, received shape {y_true.shape}")
        return _in_top_k(self.name, self.k, np.argmax(y_true, axis=-1), y_pred)


@register("sparse_top_k_categorical_accuracy")
class SparseTopKCategoricalAccuracy(_TopK):
    """y_true (class ids) is among the k highest scores of y_pred."""

    def _values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        labels = _sparse_labels(self.name, y_true, y_pred)
        return _in_top_k(self.name, self.k, labels, y_pred)


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


def serialize(metric: Metric) -> dict[str, Any]:
    """{'kind', 'name', 'config'[, 'provider']} of a metric."""
    return registry.serialize(metric)


def deserialize(entry: dict[str, Any]) -> Metric:
    """A metric from serialize()'s dict, resolved through the registry only."""
    return registry.deserialize(entry)


def get(identifier: Any, *, loss: Any = None, y_shape: Any = None, y_pred_shape: Any = None) -> Metric | None:
    """None -> None; instance -> itself; class/name -> instance (named after the string); dict; function.

    'accuracy' / 'acc' become binary, sparse or categorical accuracy (named 'accuracy' / 'acc') from the
    loss or the label and prediction shapes, as Keras' compile does.
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier in ("accuracy", "acc"):
            cls = _accuracy_class(loss, y_shape, y_pred_shape)
            return cls(name=identifier) if cls is not None else _InferredAccuracy(name=identifier)
        return registry.get(identifier)(name=identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"metrics.get: expected None, a Metric, its class, a name, a config dict or a function, "
                    f"received {type(identifier).__name__}")

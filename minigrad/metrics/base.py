"""Metric base (Keras' update_state / result / reset_state, add_variable state), Mean, Sum, MeanMetricWrapper."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minigrad.layers.weight import Weight
from minigrad.registry import Kind
from minigrad.tensor import TensorBase

__all__ = ["Metric", "MetricVariable", "Mean", "Sum", "MeanMetricWrapper", "registry", "register", "get", "serialize",
           "deserialize"]

def _array(owner: str, what: str, a: Any) -> np.ndarray:
    a = np.asarray(a.data if isinstance(a, TensorBase) else a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: expected numeric {what}, received dtype {a.dtype}")
    return a


class MetricVariable(Weight):
    """A metric's state (Keras' metric variable): assign, assign_add, assign_sub in place."""

    __slots__ = ("initial",)

    def __init__(self, data: np.ndarray, name: str) -> None:
        super().__init__(data, name, trainable=False)
        self.initial = data.copy()

    def assign_add(self, value: Any) -> MetricVariable:
        """self += value (broadcast to the variable's shape)."""
        self.assign(self.data + _value(value))
        return self

    def assign_sub(self, value: Any) -> MetricVariable:
        """self -= value (broadcast to the variable's shape)."""
        self.assign(self.data - _value(value))
        return self

    def assign(self, value: Any) -> MetricVariable:  # type: ignore[override]
        """Overwrite the values in place (a value of the variable's shape, or a scalar)."""
        super().assign(np.broadcast_to(_value(value), self.data.shape))
        return self

    @property
    def value(self) -> MetricVariable:
        return self


def _value(value: Any) -> np.ndarray:
    return np.asarray(value.data if isinstance(value, TensorBase) else value)


class Metric:
    """A running value over batches: update_state(y_true, y_pred), result(), reset_state().

    State kept in `add_variable` variables (the Keras 3 idiom) is reset to its initial value by the
    default reset_state.
    """

    def __init__(self, name: str | None = None, dtype: str | None = "float32") -> None:
        self.name = name or registry.default_name(type(self))
        self.dtype = dtype or "float32"
        self._variables: list[MetricVariable] = []
        self.reset_state()

    def add_variable(self, shape: Any = (), initializer: Any = "zeros", dtype: Any = None,
                     aggregation: str = "sum", name: str | None = None) -> MetricVariable:
        """A state variable of shape filled by initializer (a name, an Initializer or a callable)."""
        from minigrad import initializers

        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape or ())
        values = np.asarray(initializers.get(initializer)(shape, dtype=dtype or self.dtype))
        variable = MetricVariable(np.array(values, dtype=np.dtype(dtype or self.dtype)),
                                  f"{self.name}/{name or f'variable_{len(self._variables)}'}")
        self._variables.append(variable)
        return variable

    def add_weight(self, name: str | None = None, shape: Any = (), initializer: Any = "zeros",
                   dtype: Any = None) -> MetricVariable:
        """add_variable under Keras 2's argument order."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list[MetricVariable]:
        """The state variables created with add_variable."""
        return list(self._variables)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        raise NotImplementedError(f"{type(self).__name__}: update_state is not implemented")

    def result(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: result is not implemented")

    def reset_state(self) -> None:
        """Forget every batch seen so far (variables back to their initial values)."""
        for variable in getattr(self, "_variables", ()):
            variable.assign(variable.initial)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """Update with one batch and return the running result."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        value = np.asarray(_value(self.result()), dtype=np.float64)
        shown = f"{float(value):.6g}" if value.size == 1 else np.array2string(value, precision=4)
        return f"<{type(self).__name__} name={self.name!r} result={shown}>"


# as in Keras: a name makes an instance named after it ("mse"), a class also answers to its snake_case
# ('mean_io_u'), a function is wrapped
registry, register, get, serialize, deserialize = Kind(
    "metrics", Metric, named=True, snake_class_names=True,
    wrap=lambda fn, name=None: MeanMetricWrapper(fn, name=name)).api()


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


@register("sum")
class Sum(Metric):
    """Weighted sum of every value passed to update_state(values, sample_weight=None)."""

    def reset_state(self) -> None:
        self.total = 0.0

    def update_state(self, values: Any, sample_weight: Any = None, *_: Any) -> None:
        values = _array(self.name, "values", values).astype(np.float64)
        if sample_weight is not None:
            w = _array(self.name, "sample_weight", sample_weight).astype(np.float64)
            if w.ndim and w.ndim < values.ndim:
                w = w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
            values = values * w
        self.total += float(values.sum())

    def result(self) -> float:
        return self.total


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

"""Loss base class, the losses registry and LossFunctionWrapper (Keras' reductions and weighting)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minigrad import validation
from minigrad.registry import Registry
from minigrad.tensor import Tensor, TensorBase

__all__ = ["Loss", "LossFunctionWrapper", "EPSILON", "registry", "register", "registry_name"]

EPSILON = 1e-7  # Keras' backend epsilon
_REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight", "sum", "none", None)

registry = Registry("losses", validate=lambda obj: (isinstance(obj, type) and issubclass(obj, Loss)) or callable(obj))


def register(name: str, *, aliases: tuple[str, ...] = (), override: bool = False):
    """Class decorator: register a Loss subclass under a snake_case name."""
    def decorate(cls: type) -> type:
        registry.register(name, cls, aliases=aliases, override=override)
        return cls
    return decorate


class Loss:
    """Base loss: `call(y_true, y_pred)` gives per-sample values, `__call__` reduces them (mean)."""

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size") -> None:
        self.name = name or registry_name(type(self))
        self.reduction = validation.choice(reduction, _REDUCTIONS, type(self).__name__, "reduction")

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """Per-sample losses (times sample_weight) reduced to a scalar: their mean by default."""
        y_pred = self._prediction(y_pred)
        values = self.call(self._labels(y_true), y_pred)
        weights = None if sample_weight is None else self._weights(sample_weight, values)
        if weights is not None:
            values = values * weights
        if self.reduction in ("none", None):
            return values
        if self.reduction == "sum":
            return values.sum()
        if self.reduction == "mean_with_sample_weight" and weights is not None:
            total = float(weights.sum())
            return values.sum() * (1.0 / total if total else 0.0)  # Keras: divide_no_nan
        return values.mean()  # 'sum_over_batch_size' / 'mean': sum / number of values

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
            y_pred = Tensor(y_pred)  # Python floats become float32, as in Keras
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
    """The registered name, else Keras' default for a custom class: its snake_case name."""
    from minigrad.saving import serialization

    return serialization.default_name(registry, cls)


class LossFunctionWrapper(Loss):
    """A plain function fn(y_true, y_pred) -> per-sample Tensor, reduced like any loss."""

    def __init__(self, fn: Callable[[np.ndarray, Tensor], Tensor], name: str | None = None,
                 reduction: str = "sum_over_batch_size") -> None:
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn = fn

    def call(self, y_true: np.ndarray, y_pred: Tensor) -> Tensor:
        out = self.fn(y_true, y_pred)
        return out if isinstance(out, TensorBase) else Tensor(np.asarray(out))

"""Weight and activity regularizers: `regularizer(tensor) -> scalar Tensor` built from ops, so it backprops."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.ops import apply
from minigrad import validation
from minigrad.registry import Kind
from minigrad.tensor import Tensor

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2", "orthogonal_regularizer",
           "registry", "register", "get", "serialize", "deserialize"]




def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


class Regularizer:
    """Base class: __call__(x) -> scalar Tensor penalty; get_config() -> constructor kwargs."""

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}: __call__ is not implemented")

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


registry, register, get, serialize, deserialize = Kind("regularizers", Regularizer, functions=True).api()


@register("l1")
class L1(Regularizer):
    """l1 * sum(|x|)."""

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = validation.real(l1, "L1", "l1", low=0)

    def __call__(self, x: Tensor) -> Tensor:
        return apply("sum", apply("abs", _tensor(x))) * self.l1

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


@register("l2")
class L2(Regularizer):
    """l2 * sum(x ** 2) (Keras: no factor 1/2)."""

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = validation.real(l2, "L2", "l2", low=0)

    def __call__(self, x: Tensor) -> Tensor:
        x = _tensor(x)
        return apply("sum", x * x) * self.l2

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


@register("l1_l2")
class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x ** 2).

    Both default to 0.0, as in Keras 3 (so L1L2(l2=1e-4) adds no L1 penalty); the name "l1_l2"
    builds l1 = l2 = 0.01, the values Keras documents for it (its code builds the class's zeros,
    a silent no-op).
    """

    by_name = {"l1": 0.01, "l2": 0.01}  # what registry names build (registry.kind: _make)

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1, self.l2 = validation.real(l1, "L1L2", "l1", low=0), validation.real(l2, "L1L2", "l2", low=0)

    def __call__(self, x: Tensor) -> Tensor:
        x = _tensor(x)
        return apply("sum", apply("abs", x)) * self.l1 + apply("sum", x * x) * self.l2

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


@register("orthogonal_regularizer")
class OrthogonalRegularizer(Regularizer):
    """factor * mean |cosine similarity| over pairs of distinct rows (mode='rows') or columns of a 2-D x."""

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        self.factor = validation.real(factor, "OrthogonalRegularizer", "factor", low=0)
        self.mode = validation.choice(mode, ("rows", "columns"), "OrthogonalRegularizer", "mode")

    def __call__(self, x: Tensor) -> Tensor:
        x = _tensor(x)
        if x.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer: needs a 2-D weight (e.g. a Dense kernel), "
                             f"received shape {x.shape}")
        if self.mode == "columns":
            x = apply("transpose", x)
        size = x.shape[0]
        if size < 2:  # no pairs: a zero that still belongs to the graph
            return apply("sum", x) * 0.0
        # x / sqrt(max(sum(x ** 2), 1e-12)) per row, as Keras' l2 normalisation: safe for zero rows
        norms = apply("sqrt", apply("maximum", apply("sum", x * x, axis=1, keepdims=True), 1e-12))
        unit = x / norms
        product = apply("matmul", unit, apply("transpose", unit))
        off_diagonal = product * (1.0 - np.eye(size, dtype=x.dtype))
        pairs = size * (size - 1) / 2.0
        return apply("sum", apply("abs", off_diagonal)) * (self.factor * 0.5 / pairs)

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


# Keras' lowercase names are the classes themselves: regularizers.l2(1e-4) is L2(1e-4)
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer

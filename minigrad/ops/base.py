"""Op: the one place an operation's check, forward, backward and test strategy live."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad._ext import _tensor
from minigrad._ext._tensor import Context, apply
from minigrad.registry import Kind

if TYPE_CHECKING:  # hypothesis is imported only when a strategy is asked for
    from hypothesis.strategies import SearchStrategy

__all__ = ["Op", "Context", "apply", "register", "get", "names", "registry"]

OpInputs = tuple[tuple[np.ndarray, ...], dict[str, Any]]


class Op:
    """A stateless differentiable operation on ndarrays; register a subclass to make it usable."""

    name: str = ""
    differentiable: bool = True
    has_check: bool = False  # set per subclass: apply() skips the call when check is not overridden

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.has_check = cls.check is not Op.check

    def check(self, *inputs: np.ndarray, **attrs: Any) -> None:
        """Validate inputs and attrs before any kernel runs (raise ValueError/TypeError naming the op)."""

    def forward(self, ctx: Context, *inputs: np.ndarray, **attrs: Any) -> np.ndarray:
        """Compute the output; save on ctx what backward needs."""
        raise NotImplementedError(f"{self.name}: forward is not implemented")

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        """One gradient per input (None where ctx.needs_input_grad is False)."""
        raise NotImplementedError(f"{self.name}: backward is not implemented")

    def strategy(self) -> SearchStrategy[OpInputs]:
        """Hypothesis strategy of valid float64 (inputs, attrs), away from kinks, for gradcheck."""
        raise NotImplementedError(f"{self.name}: no input strategy; gradient checks need one")

    def reference(self, *inputs: np.ndarray, **attrs: Any) -> np.ndarray | None:
        """Optional NumPy/SciPy twin of forward, compared by check_op."""
        return None

    def __call__(self, *inputs: Any, **attrs: Any):
        return apply(self, *inputs, **attrs)

    def __repr__(self) -> str:
        return f"<op {self.name or type(self).__name__}>"


def _instantiate(name: str, obj: Any) -> Op:
    op = obj() if isinstance(obj, type) else obj
    if not op.name:
        op.name = name
    _tensor._forget_op(name)
    return op


# the registry keeps one instance of each Op class; get() of an Op instance returns it unchanged
registry, register, get = Kind("ops", Op, on_register=_instantiate).api()[:3]


def names() -> list[str]:
    """Names of every registered op, plugins included."""
    return registry.names()

"""Op: the one place an operation's check, forward, backward and test strategy live."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad._ext._tensor import Context, apply
from minigrad.registry import Kind

if TYPE_CHECKING:  # hypothesis is imported only when a strategy is asked for
    from hypothesis.strategies import SearchStrategy

__all__ = ["Op", "Context", "apply", "register", "get", "names", "registry"]

OpInputs = tuple[tuple[np.ndarray, ...], dict[str, Any]]


class Op:
    """A stateless differentiable operation on ndarrays; register a subclass to make it usable.

    `apply` runs `check` (the only validation of a call; what it returns is `ctx.plan`), then
    `forward`; `backward` reads `ctx.attrs`, `ctx.plan`, `ctx.saved` and `ctx.needs_input_grad`.
    """

    name: str = ""
    differentiable: bool = True
    broadcasts: bool = False  # the array inputs broadcast together: apply checks it before check
    has_check: bool = False  # set per subclass: apply() skips the call when check is not overridden

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.has_check = cls.check is not Op.check

    def check(self, *inputs: np.ndarray, **attrs: Any) -> Any:
        """Validate inputs and attrs (raise ShapeError/TypeError/ValueError naming the op) and return
        what forward and backward need (shapes, a plan): apply keeps it as ctx.plan."""

    def forward(self, ctx: Context, *inputs: np.ndarray, **attrs: Any) -> np.ndarray:
        """Compute the output; ctx.save what backward needs."""
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


def strategies() -> tuple[Any, Any]:
    """(hypothesis.strategies, minigrad.testing.strategies), imported when a strategy is asked for."""
    from hypothesis import strategies as st

    from minigrad.testing import strategies as S

    return st, S


def twin(kernel: Any) -> Any:
    """The NumPy twin of a compiled kernel's wrapper: the function of the same name in kernels.reference."""
    from minigrad.kernels import reference  # test-time only

    return getattr(reference, kernel.__name__)


# Every identifier apply() has resolved -> its Op; the engine reads this dict on each call by name.
# Registering anything clears it, so a name registered again (override=True) is looked up anew.
by_name: dict[str, Op] = {}


def _instantiate(name: str, obj: Any) -> Op:
    op = obj() if isinstance(obj, type) else obj
    if not op.name:
        op.name = name
    by_name.clear()
    return op


# the registry keeps one instance of each Op class; get() of an Op instance returns it unchanged
registry, register, _get = Kind("ops", Op, on_register=_instantiate).api()[:3]


def get(identifier: str | Op) -> Op:
    """The registered Op for a name (built-in or plugin) or an Op instance; apply() reuses resolved names."""
    op = _get(identifier)
    if isinstance(identifier, str):
        by_name[identifier] = op
    return op


def names() -> list[str]:
    """Names of every registered op, plugins included."""
    return registry.names()

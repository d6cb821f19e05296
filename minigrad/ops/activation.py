"""Activations, softmax / log_softmax and the fused softmax cross-entropy losses (Cython kernels)."""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from minigrad.kernels import activation as K
from minigrad.kernels import reference as R
from minigrad.ops.base import Context, Op, register


# Keras (TF backend) keeps a softmax/sigmoid output's logits on the output tensor (`_keras_logits`)
# and crossentropy uses them, in training and in evaluation alike. Here the output array maps to
# (op name, axis, logits) for as long as the output lives, whether or not a graph was recorded.
_LOGITS: dict[int, tuple[weakref.ref, str, int, np.ndarray]] = {}


def _remember_logits(op: str, y: np.ndarray, x: np.ndarray, axis: int) -> None:
    key = id(y)
    _LOGITS[key] = (weakref.ref(y, lambda _, key=key: _LOGITS.pop(key, None)), op, axis, x)


def logits_of(y: np.ndarray, op: str) -> np.ndarray | None:
    """The logits that `op` ('softmax' over the last axis, or 'sigmoid') turned into the array y."""
    entry = _LOGITS.get(id(y))
    if entry is None or entry[0]() is not y or entry[1] != op or entry[2] not in (-1, y.ndim - 1):
        return None
    return entry[3]


class _Activation(Op):
    """y = f(x) elementwise through kernels.<kernel>_forward; dx = kernels.<kernel>_backward."""

    kernel = ""
    from_output = False  # backward is cheaper from y (sigmoid, tanh) than from x
    kinks: tuple[float, ...] = ()  # points where f' jumps: the strategy keeps away from them
    low, high = -4.0, 4.0
    keeps_logits = False  # sigmoid: binary crossentropy reads its logits back (see logits_of)

    def params(self, **attrs: Any) -> tuple:
        """Validated kernel parameters, in kernel order (none by default)."""
        if attrs:
            raise TypeError(f"{self.name}: takes no attributes, received {sorted(attrs)}")
        return ()

    def check(self, x: np.ndarray, **attrs: Any) -> None:
        self.params(**attrs)

    def forward(self, ctx: Context, x: np.ndarray, **attrs: Any) -> np.ndarray:
        ctx.params = self.params(**attrs)
        y = getattr(K, f"{self.kernel}_forward")(x, *ctx.params)
        ctx.save(y if self.from_output else x)
        if self.keeps_logits:
            _remember_logits(self.name, y, x, -1)
        return y

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None]:
        if not ctx.needs_input_grad[0]:
            return (None,)
        return (getattr(K, f"{self.kernel}_backward")(dy, ctx.saved[0], *ctx.params),)

    def strategy(self):
        from minigrad.testing import strategies as S

        return S.op_inputs(S.kink_free_arrays(kinks=self.kinks, low=self.low, high=self.high),
                           **self.attr_strategies())

    def attr_strategies(self) -> dict[str, Any]:
        """Hypothesis strategies (or fixed values) for this op's attrs."""
        return {}

    def reference(self, x: np.ndarray, **attrs: Any) -> np.ndarray:
        return getattr(R, f"{self.kernel}_forward")(x, *self.params(**attrs))


def _activation(name: str, doc: str, **cls_attrs: Any) -> type[_Activation]:
    cls = type(name.title().replace("_", ""), (_Activation,),
               {"__doc__": doc, "kernel": name, **cls_attrs})
    return register(name)(cls)


_activation("relu", "y = max(x, 0); dx = dy where x > 0.", kinks=(0.0,))
_activation("selu", "y = scale * elu(x, alpha) with the self-normalising constants.", kinks=(0.0,))
_activation("sigmoid", "y = 1 / (1 + exp(-x)); dx = dy y (1 - y).", from_output=True, low=-30.0,
            high=30.0, keeps_logits=True)
_activation("hard_sigmoid", "y = relu6(x + 3) / 6; dx = dy / 6 inside (-3, 3).", kinks=(-3.0, 3.0))
_activation("tanh", "y = tanh(x); dx = dy (1 - y^2).", from_output=True)
_activation("softplus", "y = log(1 + exp(x)); dx = dy sigmoid(x).", low=-30.0, high=30.0)
_activation("silu", "y = x sigmoid(x) (swish).")


def _number(op: str, name: str, value: Any, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a real number, received {value!r}")
    if not np.isfinite(value) or (minimum is not None and value < minimum):
        raise ValueError(f"{op}: {name} must be finite{'' if minimum is None else f' and >= {minimum}'}, "
                         f"received {name}={value!r}")
    return float(value)


@register("leaky_relu")
class LeakyRelu(_Activation):
    """y = x if x >= 0 else negative_slope * x."""

    kernel, kinks = "leaky_relu", (0.0,)

    def params(self, *, negative_slope: float = 0.2) -> tuple:
        return (_number(self.name, "negative_slope", negative_slope, minimum=0.0),)

    def attr_strategies(self) -> dict[str, Any]:
        from hypothesis import strategies as st

        return {"negative_slope": st.floats(0.0, 0.9)}


@register("elu")
class Elu(_Activation):
    """y = x if x > 0 else alpha * (exp(x) - 1)."""

    kernel, kinks = "elu", (0.0,)

    def params(self, *, alpha: float = 1.0) -> tuple:
        return (_number(self.name, "alpha", alpha),)

    def attr_strategies(self) -> dict[str, Any]:
        from hypothesis import strategies as st

        return {"alpha": st.floats(0.1, 2.0)}


@register("gelu")
class Gelu(_Activation):
    """y = x * Phi(x) (exact, erf; Keras' default) or its tanh approximation (approximate=True)."""

    kernel = "gelu"

    def params(self, *, approximate: bool = False) -> tuple:
        if not isinstance(approximate, (bool, np.bool_)):
            raise TypeError(f"gelu: approximate must be a bool, received {approximate!r}")
        return (bool(approximate),)

    def attr_strategies(self) -> dict[str, Any]:
        from hypothesis import strategies as st

        return {"approximate": st.booleans()}


class _Softmax(Op):
    kernel = ""
    keeps_logits = False

    def check(self, x: np.ndarray, *, axis: int = -1) -> None:
        K._axis(self.name, x, axis)

    def forward(self, ctx: Context, x: np.ndarray, *, axis: int = -1) -> np.ndarray:
        y = getattr(K, f"{self.kernel}_forward")(x, axis)
        ctx.save(y)
        if self.keeps_logits:
            _remember_logits(self.name, y, x, axis)
        return y

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None]:
        if not ctx.needs_input_grad[0]:
            return (None,)
        return (getattr(K, f"{self.kernel}_backward")(dy, ctx.saved[0], ctx.attrs.get("axis", -1)),)

    def strategy(self):
        from hypothesis import strategies as st

        from minigrad.testing import strategies as S

        return S.shapes(min_dims=1).flatmap(lambda s: S.op_inputs(
            S.arrays(s, -5.0, 5.0), axis=st.integers(-len(s), len(s) - 1)))

    def reference(self, x: np.ndarray, *, axis: int = -1) -> np.ndarray:
        return getattr(R, f"{self.kernel}_forward")(x, axis)


@register("softmax")
class Softmax(_Softmax):
    """y = exp(x - max) / sum(exp(x - max)) along axis; dx = y (dy - sum(dy y))."""

    kernel = "softmax"
    keeps_logits = True


@register("log_softmax")
class LogSoftmax(_Softmax):
    """y = x - logsumexp(x) along axis; dx = dy - softmax(x) sum(dy)."""

    kernel = "log_softmax"


def _loss_strategy(sparse: bool):
    from hypothesis import strategies as st

    from minigrad.testing import strategies as S

    def build(nc: tuple[int, int]):
        n, c = nc
        second = (S.arrays((n,), 0, c - 0.5).map(lambda a: np.floor(a).astype(np.int64)) if sparse
                  else S.positive_arrays((n, c), 0.0, 1.0))
        return S.op_inputs(S.arrays((n, c), -5.0, 5.0), second)

    return st.tuples(st.integers(1, 4), st.integers(1, 5)).flatmap(build)


@register("softmax_cross_entropy")
class SoftmaxCrossEntropy(Op):
    """loss[i] = -sum_j target[i, j] log_softmax(logits)[i, j]: (N, C), (N, C) -> (N,)."""

    def check(self, logits: np.ndarray, target: np.ndarray) -> None:
        if logits.ndim != 2 or target.shape != logits.shape:
            raise ValueError(f"softmax_cross_entropy: expected logits and target of one shape (N, C), "
                             f"received {logits.shape} and {target.shape}")

    def forward(self, ctx: Context, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        ctx.save(logits, target)
        return K.softmax_cross_entropy_forward(logits, target)

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        logits, target = ctx.saved
        d_logits = d_target = None
        if ctx.needs_input_grad[0]:
            d_logits = K.softmax_cross_entropy_backward(dy, logits, target)
        if ctx.needs_input_grad[1]:  # the loss is linear in the target
            d_target = -K.log_softmax_forward(logits, 1) * dy[:, None]
        return d_logits, d_target

    def strategy(self):
        return _loss_strategy(sparse=False)

    def reference(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        return R.softmax_cross_entropy_forward(logits, target)


@register("sparse_softmax_cross_entropy")
class SparseSoftmaxCrossEntropy(Op):
    """loss[i] = logsumexp(logits[i]) - logits[i, labels[i]]: (N, C), int (N,) -> (N,)."""

    def check(self, logits: np.ndarray, labels: np.ndarray) -> None:
        if logits.ndim != 2 or labels.shape != logits.shape[:1]:
            raise ValueError(f"sparse_softmax_cross_entropy: expected logits (N, C) and labels (N,), "
                             f"received {logits.shape} and {labels.shape}")

    def forward(self, ctx: Context, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
        ctx.save(logits, labels)
        return K.sparse_softmax_cross_entropy_forward(logits, labels)

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None, None]:
        if not ctx.needs_input_grad[0]:
            return None, None
        logits, labels = ctx.saved
        return K.sparse_softmax_cross_entropy_backward(dy, logits, labels), None

    def strategy(self):
        return _loss_strategy(sparse=True)

    def reference(self, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return R.sparse_softmax_cross_entropy_forward(logits, labels)

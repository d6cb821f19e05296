"""Activations, softmax / log_softmax and the fused softmax cross-entropy losses (Cython kernels)."""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from minigrad.errors import ShapeError
from minigrad.kernels import activation as K
from minigrad.ops.base import Context, Op, register, strategies, twin


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
    """y = forward_kernel(x, *params) elementwise; dx = backward_kernel(dy, x or y, *params)."""

    forward_kernel: Any = None
    backward_kernel: Any = None
    from_output = False  # backward is cheaper from y (sigmoid, tanh) than from x
    kinks: tuple[float, ...] = ()  # points where f' jumps: the strategy keeps away from them
    low, high = -4.0, 4.0
    keeps_logits = False  # sigmoid: binary crossentropy reads its logits back (see logits_of)

    def check(self, x: np.ndarray, **attrs: Any) -> tuple:
        """The validated kernel parameters, in kernel order (none by default)."""
        if attrs:
            raise TypeError(f"{self.name}: takes no attributes, received {sorted(attrs)}")
        return ()

    def forward(self, ctx: Context, x: np.ndarray, **attrs: Any) -> np.ndarray:
        y = self.forward_kernel(x, *ctx.plan)
        ctx.save(y if self.from_output else x)
        if self.keeps_logits:
            _remember_logits(self.name, y, x, -1)
        return y

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None]:
        if not ctx.needs_input_grad[0]:
            return (None,)
        return (self.backward_kernel(dy, ctx.saved[0], *ctx.plan),)

    def strategy(self):
        st, S = strategies()
        return S.op_inputs(S.kink_free_arrays(kinks=self.kinks, low=self.low, high=self.high),
                           **self.attr_strategies())

    def attr_strategies(self) -> dict[str, Any]:
        """Hypothesis strategies (or fixed values) for this op's attrs."""
        return {}

    def reference(self, x: np.ndarray, **attrs: Any) -> np.ndarray:
        return twin(self.forward_kernel)(x, *self.check(x, **attrs))


@register("relu")
class Relu(_Activation):
    """y = max(x, 0); dx = dy where x > 0."""

    forward_kernel, backward_kernel = staticmethod(K.relu_forward), staticmethod(K.relu_backward)
    kinks = (0.0,)


@register("selu")
class Selu(_Activation):
    """y = scale * elu(x, alpha) with the self-normalising constants."""

    forward_kernel, backward_kernel = staticmethod(K.selu_forward), staticmethod(K.selu_backward)
    kinks = (0.0,)


@register("sigmoid")
class Sigmoid(_Activation):
    """y = 1 / (1 + exp(-x)); dx = dy y (1 - y)."""

    forward_kernel, backward_kernel = staticmethod(K.sigmoid_forward), staticmethod(K.sigmoid_backward)
    from_output, keeps_logits = True, True
    low, high = -30.0, 30.0


@register("hard_sigmoid")
class HardSigmoid(_Activation):
    """y = relu6(x + 3) / 6; dx = dy / 6 inside (-3, 3)."""

    forward_kernel, backward_kernel = staticmethod(K.hard_sigmoid_forward), staticmethod(K.hard_sigmoid_backward)
    kinks = (-3.0, 3.0)


@register("tanh")
class Tanh(_Activation):
    """y = tanh(x); dx = dy (1 - y^2)."""

    forward_kernel, backward_kernel = staticmethod(K.tanh_forward), staticmethod(K.tanh_backward)
    from_output = True


@register("softplus")
class Softplus(_Activation):
    """y = log(1 + exp(x)); dx = dy sigmoid(x)."""

    forward_kernel, backward_kernel = staticmethod(K.softplus_forward), staticmethod(K.softplus_backward)
    low, high = -30.0, 30.0


@register("silu")
class Silu(_Activation):
    """y = x sigmoid(x) (swish)."""

    forward_kernel, backward_kernel = staticmethod(K.silu_forward), staticmethod(K.silu_backward)


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

    forward_kernel, backward_kernel = staticmethod(K.leaky_relu_forward), staticmethod(K.leaky_relu_backward)
    kinks = (0.0,)

    def check(self, x: np.ndarray, *, negative_slope: float = 0.2) -> tuple:
        return (_number(self.name, "negative_slope", negative_slope, minimum=0.0),)

    def attr_strategies(self) -> dict[str, Any]:
        st, S = strategies()
        return {"negative_slope": st.floats(0.0, 0.9)}


@register("elu")
class Elu(_Activation):
    """y = x if x > 0 else alpha * (exp(x) - 1)."""

    forward_kernel, backward_kernel = staticmethod(K.elu_forward), staticmethod(K.elu_backward)
    kinks = (0.0,)

    def check(self, x: np.ndarray, *, alpha: float = 1.0) -> tuple:
        return (_number(self.name, "alpha", alpha),)

    def attr_strategies(self) -> dict[str, Any]:
        st, S = strategies()
        return {"alpha": st.floats(0.1, 2.0)}


@register("gelu")
class Gelu(_Activation):
    """y = x * Phi(x) (exact, erf; Keras' default) or its tanh approximation (approximate=True)."""

    forward_kernel, backward_kernel = staticmethod(K.gelu_forward), staticmethod(K.gelu_backward)

    def check(self, x: np.ndarray, *, approximate: bool = False) -> tuple:
        if not isinstance(approximate, (bool, np.bool_)):
            raise TypeError(f"gelu: approximate must be a bool, received {approximate!r}")
        return (bool(approximate),)

    def attr_strategies(self) -> dict[str, Any]:
        st, S = strategies()
        return {"approximate": st.booleans()}


class _Softmax(Op):
    """y = forward_kernel(x, axis) along one axis; dx = backward_kernel(dy, y, axis)."""

    forward_kernel: Any = None
    backward_kernel: Any = None
    keeps_logits = False

    def check(self, x: np.ndarray, *, axis: int = -1) -> int:
        try:
            return K._axis(self.name, x, axis)
        except ValueError as e:
            raise ShapeError(str(e)) from None

    def forward(self, ctx: Context, x: np.ndarray, *, axis: int = -1) -> np.ndarray:
        y = self.forward_kernel(x, ctx.plan)
        ctx.save(y)
        if self.keeps_logits:
            _remember_logits(self.name, y, x, axis)
        return y

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None]:
        if not ctx.needs_input_grad[0]:
            return (None,)
        return (self.backward_kernel(dy, ctx.saved[0], ctx.plan),)

    def strategy(self):
        st, S = strategies()
        return S.shapes(min_dims=1).flatmap(lambda s: S.op_inputs(
            S.arrays(s, -5.0, 5.0), axis=st.integers(-len(s), len(s) - 1)))

    def reference(self, x: np.ndarray, *, axis: int = -1) -> np.ndarray:
        return twin(self.forward_kernel)(x, axis)


@register("softmax")
class Softmax(_Softmax):
    """y = exp(x - max) / sum(exp(x - max)) along axis; dx = y (dy - sum(dy y))."""

    forward_kernel, backward_kernel = staticmethod(K.softmax_forward), staticmethod(K.softmax_backward)
    keeps_logits = True


@register("log_softmax")
class LogSoftmax(_Softmax):
    """y = x - logsumexp(x) along axis; dx = dy - softmax(x) sum(dy)."""

    forward_kernel, backward_kernel = staticmethod(K.log_softmax_forward), staticmethod(K.log_softmax_backward)


def _loss_strategy(sparse: bool):
    st, S = strategies()

    def build(nc: tuple[int, int]):
        n, c = nc
        second = (S.arrays((n,), 0, c - 0.5).map(lambda a: np.floor(a).astype(np.int64)) if sparse
                  else S.positive_arrays((n, c), 0.0, 1.0))
        return S.op_inputs(S.arrays((n, c), -5.0, 5.0), second)

    return st.tuples(st.integers(1, 4), st.integers(1, 5)).flatmap(build)


@register("softmax_cross_entropy")
class SoftmaxCrossEntropy(Op):
    """loss[i] = -sum_j target[i, j] log_softmax(logits)[i, j]: (N, C), (N, C) -> (N,)."""

    forward_kernel = staticmethod(K.softmax_cross_entropy_forward)
    backward_kernel = staticmethod(K.softmax_cross_entropy_backward)
    target_grad_kernel = staticmethod(K.log_softmax_forward)  # the loss is linear in the target

    def check(self, logits: np.ndarray, target: np.ndarray) -> None:
        if logits.ndim != 2 or target.shape != logits.shape:
            raise ShapeError(f"softmax_cross_entropy: expected logits and target of one shape (N, C), "
                             f"received {logits.shape} and {target.shape}")

    def forward(self, ctx: Context, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        ctx.save(logits, target)
        return self.forward_kernel(logits, target)

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        logits, target = ctx.saved
        d_logits = d_target = None
        if ctx.needs_input_grad[0]:
            d_logits = self.backward_kernel(dy, logits, target)
        if ctx.needs_input_grad[1]:
            d_target = -self.target_grad_kernel(logits, 1) * dy[:, None]
        return d_logits, d_target

    def strategy(self):
        return _loss_strategy(sparse=False)

    def reference(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        return twin(self.forward_kernel)(logits, target)


@register("sparse_softmax_cross_entropy")
class SparseSoftmaxCrossEntropy(Op):
    """loss[i] = logsumexp(logits[i]) - logits[i, labels[i]]: (N, C), int (N,) -> (N,)."""

    forward_kernel = staticmethod(K.sparse_softmax_cross_entropy_forward)
    backward_kernel = staticmethod(K.sparse_softmax_cross_entropy_backward)

    def check(self, logits: np.ndarray, labels: np.ndarray) -> None:
        if logits.ndim != 2 or labels.shape != logits.shape[:1]:
            raise ShapeError(f"sparse_softmax_cross_entropy: expected logits (N, C) and labels (N,), "
                             f"received {logits.shape} and {labels.shape}")

    def forward(self, ctx: Context, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
        ctx.save(logits, labels)
        return self.forward_kernel(logits, labels)

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None, None]:
        if not ctx.needs_input_grad[0]:
            return None, None
        logits, labels = ctx.saved
        return self.backward_kernel(dy, logits, labels), None

    def strategy(self):
        return _loss_strategy(sparse=True)

    def reference(self, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return twin(self.forward_kernel)(logits, labels)

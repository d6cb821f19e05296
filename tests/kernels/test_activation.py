"""Activation, softmax and softmax cross-entropy kernels vs scipy, their NumPy twins and finite differences."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import special

from minigrad.kernels import activation as K
from minigrad.kernels import reference as R

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
C = np.sqrt(2 / np.pi)

# name -> (attrs, scipy/numpy forward in float64, kinks to avoid in finite differences,
#          whether backward takes the forward output y instead of x)
ACTIVATIONS: dict[str, tuple[dict[str, Any], Callable, tuple[float, ...], bool]] = {
    "relu": ({}, lambda x: np.maximum(x, 0), (0.0,), False),
    "leaky_relu": ({"negative_slope": 0.3}, lambda x: np.where(x < 0, 0.3 * x, x), (0.0,), False),
    "elu": ({"alpha": 1.5}, lambda x: np.where(x > 0, x, 1.5 * special.expm1(np.minimum(x, 0))),
            (0.0,), False),
    "selu": ({}, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * special.expm1(np.minimum(x, 0))),
             (0.0,), False),
    "gelu": ({}, lambda x: 0.5 * x * (1 + special.erf(x / np.sqrt(2))), (), False),
    "gelu_tanh": ({"approximate": True},
                  lambda x: 0.5 * x * (1 + np.tanh(C * (x + 0.044715 * x**3))), (), False),
    "sigmoid": ({}, special.expit, (), True),
    "hard_sigmoid": ({}, lambda x: np.minimum(np.maximum(x + 3, 0), 6) / 6, (-3.0, 3.0), False),
    "tanh": ({}, np.tanh, (), True),
    "softplus": ({}, lambda x: np.logaddexp(0, x), (), False),
    "silu": ({}, lambda x: x * special.expit(x), (), False),
    "linear": ({}, lambda x: x, (), False),
}


def _fns(name: str) -> tuple[Callable, Callable, Callable, Callable, dict[str, Any]]:
    attrs, *_ = ACTIVATIONS[name]
    base = "gelu" if name == "gelu_tanh" else name
    return (getattr(K, f"{base}_forward"), getattr(K, f"{base}_backward"),
            getattr(R, f"{base}_forward"), getattr(R, f"{base}_backward"), attrs)


def _arrays(low: float, high: float, dtype: Any = np.float64, max_side: int = 6) -> st.SearchStrategy:
    elements = st.floats(low, high, allow_nan=False, width=32 if dtype == np.float32 else 64)
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, max_side=max_side),
                      elements=elements)


def _push_off_kinks(x: np.ndarray, kinks: tuple[float, ...], margin: float = 1e-3) -> np.ndarray:
    x = np.array(x, dtype=np.float64)
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = k + margin * np.where(x[near] >= k, 1.0, -1.0)
    return x


EXTREMES = np.array([-1e4, -710.0, -100.0, -30.0, -3.0, -1e-8, 0.0, 1e-8, 3.0, 30.0, 100.0, 710.0, 1e4])


@pytest.mark.parametrize("name", ACTIVATIONS)
@settings(max_examples=25)
@given(x=_arrays(-1e4, 1e4))
@example(x=EXTREMES)
def test_forward_matches_scipy_and_stays_finite(name: str, x: np.ndarray) -> None:
    forward, backward, *_ = _fns(name)
    attrs, expected, _, from_y = ACTIVATIONS[name]
    y = forward(x, **attrs)
    with np.errstate(over="ignore", invalid="ignore"):  # the naive tanh-gelu formula overflows
        want = expected(x)
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-14)
    assert y.dtype == x.dtype and y.shape == x.shape
    dx = backward(np.ones_like(x), y if from_y else x, **attrs)
    assert np.isfinite(y).all() and np.isfinite(dx).all()


@pytest.mark.parametrize("name", ACTIVATIONS)
@settings(max_examples=15)
@given(x=_arrays(-50, 50, np.float32))
def test_float32_close_to_float64(name: str, x: np.ndarray) -> None:
    forward, backward, *_ = _fns(name)
    attrs, _, _, from_y = ACTIVATIONS[name]
    y32, y64 = forward(x, **attrs), forward(x.astype(np.float64), **attrs)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-6)
    dy = np.linspace(-1, 1, x.size, dtype=np.float32).reshape(x.shape)
    dx32 = backward(dy, y32 if from_y else x, **attrs)
    dx64 = backward(dy.astype(np.float64), y64 if from_y else x.astype(np.float64), **attrs)
    np.testing.assert_allclose(dx32, dx64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ACTIVATIONS)
@settings(max_examples=20)
@given(x=_arrays(-6, 6), seed=st.integers(0, 2**16))
def test_backward_matches_finite_differences_and_twin(name: str, x: np.ndarray, seed: int) -> None:
    forward, backward, ref_forward, ref_backward, attrs = _fns(name)
    _, _, kinks, from_y = ACTIVATIONS[name]
    x = _push_off_kinks(x, kinks)
    dy = np.random.default_rng(seed).standard_normal(x.shape)
    y = forward(x, **attrs)
    dx = backward(dy, y if from_y else x, **attrs)
    h = 1e-6  # elementwise ops: one central difference per element, all at once
    numeric = dy * (forward(x + h, **attrs) - forward(x - h, **attrs)) / (2 * h)
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(y, ref_forward(x, **attrs), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(dx, ref_backward(dy, y if from_y else x, **attrs), rtol=1e-12,
                               atol=1e-14)


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_non_contiguous_input_matches_twin(name: str, dtype: type) -> None:
    # big enough for the multi-threaded path; a transposed view must be handled, not misread
    forward, backward, ref_forward, ref_backward, attrs = _fns(name)
    _, _, _, from_y = ACTIVATIONS[name]
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((300, 200)) * 4).astype(dtype).T
    dy = rng.standard_normal((200, 300)).astype(dtype)
    y = forward(x, **attrs)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(y, ref_forward(x, **attrs), **tol)
    saved = y if from_y else x
    np.testing.assert_allclose(backward(dy, saved, **attrs), ref_backward(dy, saved, **attrs), **tol)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_zero_size(name: str) -> None:
    forward, backward, _, _, attrs = _fns(name)
    x = np.empty((0, 3), np.float32)
    assert forward(x, **attrs).shape == (0, 3)
    assert backward(x, x, **attrs).shape == (0, 3)


def test_hard_sigmoid_is_keras3_relu6() -> None:
    x = np.array([-4.0, -3.0, -1.5, 0.0, 1.5, 3.0, 4.0])
    np.testing.assert_allclose(K.hard_sigmoid_forward(x), [0, 0, 0.25, 0.5, 0.75, 1, 1])
    np.testing.assert_allclose(K.hard_sigmoid_backward(np.ones(7), x), [0, 0, 1 / 6, 1 / 6, 1 / 6, 0, 0])


def test_elu_and_selu_keep_relative_precision_near_zero() -> None:
    x = np.array([-1e-20, -1e-10, -1e-5])
    np.testing.assert_allclose(K.elu_forward(x, 2.0), 2.0 * special.expm1(x), rtol=1e-15)
    np.testing.assert_allclose(K.selu_forward(x), SELU_SCALE * SELU_ALPHA * special.expm1(x), rtol=1e-15)


def test_sigmoid_tails_are_exact() -> None:
    x = np.array([-800.0, -40.0, 40.0, 800.0])
    np.testing.assert_allclose(K.sigmoid_forward(x), special.expit(x), rtol=1e-15)
    assert K.sigmoid_forward(np.array([-100.0]))[0] > 0  # no 1/(1+inf) underflow to 0 at -100


# ---- softmax / log_softmax -------------------------------------------------------------------

@st.composite
def _array_and_axis(draw: st.DrawFn, low: float = -1e4, high: float = 1e4,
                    max_side: int = 5) -> tuple[np.ndarray, int]:
    x = draw(_arrays(low, high, max_side=max_side).filter(lambda a: a.ndim >= 1))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


@settings(max_examples=30)
@given(xa=_array_and_axis())
@example(xa=(np.array([[1e4, -1e4, 0.0], [1e4, 1e4, 1e4]]), -1))
def test_softmax_matches_scipy(xa: tuple[np.ndarray, int]) -> None:
    x, axis = xa
    y, logy = K.softmax_forward(x, axis), K.log_softmax_forward(x, axis)
    np.testing.assert_allclose(y, special.softmax(x, axis=axis), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(logy, special.log_softmax(x, axis=axis), rtol=1e-12, atol=1e-12)
    assert np.isfinite(logy).all() and y.flags.c_contiguous and logy.flags.c_contiguous
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)


def _numeric_grad(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dy: np.ndarray,
                  h: float = 1e-6) -> np.ndarray:
    """Central differences of sum(dy * f(x)) with respect to each element of x."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        grad[i] = np.sum(dy * (f(xp) - f(xm))) / (2 * h)
    return grad


@settings(max_examples=20)
@given(xa=_array_and_axis(-5, 5, max_side=4), seed=st.integers(0, 2**16))
def test_softmax_backward_matches_finite_differences_and_twin(xa: tuple[np.ndarray, int],
                                                              seed: int) -> None:
    x, axis = xa
    dy = np.random.default_rng(seed).standard_normal(x.shape)
    for name in ("softmax", "log_softmax"):
        forward, backward = getattr(K, f"{name}_forward"), getattr(K, f"{name}_backward")
        y = forward(x, axis)
        dx = backward(dy, y, axis)
        np.testing.assert_allclose(dx, _numeric_grad(lambda v: forward(v, axis), x, dy),
                                   rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(dx, getattr(R, f"{name}_backward")(dy, y, axis), rtol=1e-12,
                                   atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_large_parity(dtype: type) -> None:
    x = (np.random.default_rng(2).standard_normal((40, 600, 3)) * 10).astype(dtype)
    # log_softmax of values ~40 carries ~eps * 40 absolute rounding error from x - lse
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for axis in (1, -1):
        for name in ("softmax", "log_softmax"):
            got = getattr(K, f"{name}_forward")(x, axis)
            np.testing.assert_allclose(got, getattr(R, f"{name}_forward")(x, axis), **tol)
            dy = np.ones_like(x)
            np.testing.assert_allclose(getattr(K, f"{name}_backward")(dy, got, axis),
                                       getattr(R, f"{name}_backward")(dy, got, axis),
                                       rtol=tol["rtol"], atol=max(tol["atol"], 1e-12))


# ---- softmax cross-entropy -------------------------------------------------------------------

@st.composite
def _logits_targets(draw: st.DrawFn, low: float = -1e4, high: float = 1e4
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, c = draw(st.integers(0, 5)), draw(st.integers(1, 6))
    logits = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(low, high)))
    weights = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(0, 1)))
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    target = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    return logits, target, labels


@settings(max_examples=40)
@given(data=_logits_targets())
@example(data=(np.array([[1e4, -1e4, 0.0]]), np.array([[0.0, 1.0, 0.0]]), np.array([1])))
def test_cross_entropy_matches_log_softmax_formula(data: tuple) -> None:
    logits, target, labels = data
    logp = special.log_softmax(logits, axis=1) if logits.size else logits
    loss = K.softmax_cross_entropy_forward(logits, target)
    np.testing.assert_allclose(loss, -(target * logp).sum(axis=1), rtol=1e-12, atol=1e-9)
    sparse = K.sparse_softmax_cross_entropy_forward(logits, labels)
    np.testing.assert_allclose(sparse, -logp[np.arange(len(labels)), labels], rtol=1e-12, atol=1e-9)
    assert np.isfinite(loss).all() and np.isfinite(sparse).all()
    onehot = np.eye(logits.shape[1])[labels]
    np.testing.assert_allclose(K.softmax_cross_entropy_forward(logits, onehot), sparse,
                               rtol=1e-12, atol=1e-9)


@settings(max_examples=20)
@given(data=_logits_targets(-5, 5), seed=st.integers(0, 2**16))
def test_cross_entropy_backward(data: tuple, seed: int) -> None:
    logits, target, labels = data
    dy = np.random.default_rng(seed).standard_normal(len(labels))
    onehot = np.eye(logits.shape[1])[labels]
    dense = K.softmax_cross_entropy_backward(dy, logits, target)
    sparse = K.sparse_softmax_cross_entropy_backward(dy, logits, labels)
    f_dense = lambda v: K.softmax_cross_entropy_forward(v, target)  # noqa: E731
    np.testing.assert_allclose(dense, _numeric_grad(f_dense, logits, dy), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(sparse, K.softmax_cross_entropy_backward(dy, logits, onehot),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dense, R.softmax_cross_entropy_backward(dy, logits, target),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(sparse, R.sparse_softmax_cross_entropy_backward(dy, logits, labels),
                               rtol=1e-12, atol=1e-14)
    p = special.softmax(logits, axis=1) if logits.size else logits
    np.testing.assert_allclose(sparse, dy[:, None] * (p - onehot), rtol=1e-12, atol=1e-14)


def test_cross_entropy_float32_and_uint8_labels() -> None:
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((512, 10)).astype(np.float32) * 5
    labels = rng.integers(0, 10, 512).astype(np.uint8)  # MNIST labels come as uint8
    want = R.sparse_softmax_cross_entropy_forward(logits.astype(np.float64), labels.astype(np.int64))
    got = K.sparse_softmax_cross_entropy_forward(logits, labels)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


# ---- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, words", [
    (lambda: K.relu_forward(np.arange(3)), TypeError, ["relu", "float32 or float64", "int64"]),
    (lambda: K.sigmoid_forward(np.ones(2, np.float16)), TypeError, ["sigmoid", "float16"]),
    (lambda: K.relu_backward(np.ones(3), np.ones(4)), ValueError, ["relu backward", "(4,)", "(3,)"]),
    (lambda: K.tanh_backward(np.ones(3, np.float32), np.ones(3)), ValueError, ["tanh", "float32"]),
    (lambda: K.leaky_relu_forward(np.ones(2), -0.1), ValueError, ["leaky_relu", "negative_slope to be a finite float", "-0.1"]),
    (lambda: K.elu_forward(np.ones(2), float("nan")), ValueError, ["elu", "alpha to be a finite float", "nan"]),
    (lambda: K.elu_forward(np.ones(2), "1"), TypeError, ["elu", "alpha"]),
    (lambda: K.softmax_forward(np.ones((2, 3)), 2), ValueError, ["softmax", "axis 2", "(2, 3)"]),
    (lambda: K.softmax_forward(np.ones((2, 3)), 1.0), TypeError, ["softmax", "axis to be an int", "received 1.0"]),
    (lambda: K.log_softmax_forward(np.float64(1.0)), ValueError, ["log_softmax", "axis"]),
    (lambda: K.softmax_cross_entropy_forward(np.ones(3), np.ones(3)), ValueError,
     ["softmax_cross_entropy", "(N, C)", "(3,)"]),
    (lambda: K.softmax_cross_entropy_forward(np.ones((2, 3)), np.ones((2, 4))), ValueError,
     ["target", "(2, 3)", "(2, 4)"]),
    (lambda: K.sparse_softmax_cross_entropy_forward(np.ones((2, 3)), np.array([0, 3])), ValueError,
     ["sparse_softmax_cross_entropy", "[0, 2]", "[0, 3]"]),
    (lambda: K.sparse_softmax_cross_entropy_forward(np.ones((2, 3)), np.array([-1, 0])), ValueError,
     ["[0, 2]", "-1"]),
    (lambda: K.sparse_softmax_cross_entropy_forward(np.ones((2, 3)), np.array([0.0, 1.0])), TypeError,
     ["integer labels", "float64"]),
    (lambda: K.sparse_softmax_cross_entropy_forward(np.ones((2, 3)), np.array([0, 1, 2])), ValueError,
     ["(2,)", "(3,)"]),
    (lambda: K.sparse_softmax_cross_entropy_backward(np.ones(3), np.ones((2, 3)), np.array([0, 1])),
     ValueError, ["dy", "(2,)", "(3,)"]),
])
def test_bad_input_is_rejected_with_a_clear_message(call: Callable, error: type, words: list[str]) -> None:
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


# ---- the registered ops ------------------------------------------------------------------------

OPS = ["relu", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "hard_sigmoid", "tanh", "softplus",
       "silu", "softmax", "log_softmax", "softmax_cross_entropy", "sparse_softmax_cross_entropy"]


@pytest.mark.parametrize("name", OPS)
@settings(max_examples=10)
@given(data=st.data())
def test_op_forward_matches_its_reference(name: str, data: st.DataObject) -> None:
    from minigrad import ops

    op = ops.get(name)
    inputs, attrs = data.draw(op.strategy())
    np.testing.assert_allclose(ops.apply(name, *inputs, **attrs).numpy(), op.reference(*inputs, **attrs),
                               rtol=1e-12, atol=1e-14)


def test_sparse_op_gradient_flows_to_logits_only() -> None:
    from minigrad import Tensor, ops

    logits = Tensor(np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0]]), requires_grad=True)
    loss = ops.apply("sparse_softmax_cross_entropy", logits, np.array([0, 2]))
    loss.sum().backward()
    p = special.softmax(logits.data, axis=1)
    np.testing.assert_allclose(logits.grad, p - np.eye(3)[[0, 2]], rtol=1e-12)


def test_op_rejects_bad_attrs_naming_the_op() -> None:
    from minigrad import ops

    with pytest.raises(ValueError, match="leaky_relu: negative_slope"):
        ops.apply("leaky_relu", np.ones(3), negative_slope=-1.0)
    with pytest.raises(TypeError, match="gelu: approximate"):
        ops.apply("gelu", np.ones(3), approximate="tanh")
    with pytest.raises(TypeError, match="relu"):
        ops.apply("relu", np.ones(3), alpha=1.0)


# ----- NaN and inf: the kernels give what their NumPy twins give (issue 13)
SPECIALS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 30.0, -30.0, 1e300, -1e300])


def _special_arrays(dtype: Any = np.float64) -> st.SearchStrategy:
    big = float(np.finfo(dtype).max)
    specials = [v for v in SPECIALS if not abs(v) < big] + [v for v in SPECIALS if abs(v) < big] + [big, -big]
    specials = [v for v in specials if not (np.isfinite(v) and abs(v) > big)]
    elements = st.one_of(st.sampled_from(specials), st.floats(-1e3, 1e3, width=32 if dtype == np.float32 else 64))
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=2, max_dims=2, max_side=5), elements=elements)


def _same(kernel_value: np.ndarray, twin_value: np.ndarray, what: str) -> None:
    np.testing.assert_array_equal(np.isnan(kernel_value), np.isnan(twin_value), err_msg=f"{what}: NaN positions")
    tol = 2e-5 if kernel_value.dtype == np.float32 else 1e-12  # cancellation near 0 is absolute
    np.testing.assert_allclose(kernel_value, twin_value, rtol=tol, atol=tol, err_msg=what)


@pytest.mark.parametrize("name", ACTIVATIONS)
@settings(max_examples=15)
@given(x=_special_arrays())
@example(x=SPECIALS[None, :])
def test_activations_treat_nan_and_inf_as_their_twins(name: str, x: np.ndarray) -> None:
    forward, backward, twin_forward, twin_backward, attrs = _fns(name)
    _, _, _, from_y = ACTIVATIONS[name]
    with np.errstate(all="ignore"):
        y, want = forward(x, **attrs), twin_forward(x, **attrs)
        _same(y, want, f"{name} forward")
        saved = y if from_y else x
        _same(backward(np.ones_like(x), saved, **attrs), twin_backward(np.ones_like(x), saved, **attrs),
              f"{name} backward")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=25)
@given(data=st.data())
def test_softmax_family_treats_nan_and_inf_as_the_twins(dtype: type, data: st.DataObject) -> None:
    x = data.draw(_special_arrays(dtype), label="x")
    labels = data.draw(hnp.arrays(np.int64, x.shape[0], elements=st.integers(0, x.shape[1] - 1)), label="labels")
    target = np.eye(x.shape[1], dtype=dtype)[labels]
    dy = np.ones(x.shape[0], dtype)
    with np.errstate(all="ignore"):
        for name in ("softmax", "log_softmax"):
            _same(getattr(K, f"{name}_forward")(x), getattr(R, f"{name}_forward")(x), name)
        _same(K.sparse_softmax_cross_entropy_forward(x, labels), R.sparse_softmax_cross_entropy_forward(x, labels),
              "sparse cross-entropy")
        _same(K.sparse_softmax_cross_entropy_backward(dy, x, labels),
              R.sparse_softmax_cross_entropy_backward(dy, x, labels), "sparse cross-entropy backward")
        _same(K.softmax_cross_entropy_forward(x, target), R.softmax_cross_entropy_forward(x, target), "cross-entropy")
        _same(K.softmax_cross_entropy_backward(dy, x, target), R.softmax_cross_entropy_backward(dy, x, target),
              "cross-entropy backward")


def test_the_issue_13_nan_and_inf_cases() -> None:
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(K.log_softmax_forward(np.array([np.inf, 1.0])), [np.nan, -np.inf])
        np.testing.assert_array_equal(K.softmax_forward(np.array([np.inf, 1.0])), [np.nan, 0.0])
        logits = np.array([[np.inf, 1.0]])
        assert K.sparse_softmax_cross_entropy_forward(logits, np.array([1]))[0] == np.inf
        assert np.isnan(K.sparse_softmax_cross_entropy_forward(logits, np.array([0]))[0])

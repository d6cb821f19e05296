"""Pooling kernels vs a padded sliding-window numpy reference, their twins and finite differences."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from minigrad.kernels import pool as P
from minigrad.kernels import reference as R


def _sliding_reference(x: np.ndarray, pool: tuple[int, int], strides: tuple[int, int],
                       padding: str, data_format: str) -> tuple[np.ndarray, np.ndarray]:
    """(max, mean) pooling by padding with NaN and reducing windows with nanmax/nanmean."""
    xn = x if data_format == "channels_last" else x.transpose(0, 2, 3, 1)
    n, h, w, c = xn.shape
    pads = []
    for size, k, s in zip((h, w), pool, strides):
        if padding == "same":
            out = -(-size // s)  # ceil: TF/Keras "same"
            total = max((out - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append((0, 0))
    xp = np.pad(xn.astype(np.float64), ((0, 0), *pads, (0, 0)), constant_values=np.nan)
    win = sliding_window_view(xp, pool, axis=(1, 2))[:, ::strides[0], ::strides[1]]
    mx, mean = np.nanmax(win, axis=(-2, -1)), np.nanmean(win, axis=(-2, -1))
    if data_format == "channels_first":
        mx, mean = mx.transpose(0, 3, 1, 2), mean.transpose(0, 3, 1, 2)
    return mx, mean


@st.composite
def configs(draw: st.DrawFn, max_side: int = 7) -> dict[str, Any]:
    pool = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = draw(st.one_of(st.none(), st.tuples(st.integers(1, 4), st.integers(1, 4))))
    padding = draw(st.sampled_from(["valid", "same"]))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    if padding == "valid":
        assume(h >= pool[0] and w >= pool[1])
    # channels: below, at and past one vector block of the kernel at every ISA level (2-16 lanes)
    n, c = draw(st.integers(0, 3)), draw(st.one_of(st.integers(1, 3), st.sampled_from([8, 16, 17, 35])))
    data_format = draw(st.sampled_from(["channels_last", "channels_first"]))
    shape = (n, h, w, c) if data_format == "channels_last" else (n, c, h, w)
    return dict(shape=shape, pool_size=pool, strides=strides, padding=padding, data_format=data_format)


def _attrs(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: cfg[k] for k in ("pool_size", "strides", "padding", "data_format")}


def _expected_out(cfg: dict[str, Any]) -> tuple[int, ...]:
    n, (h, w), c = cfg["shape"][0], ((cfg["shape"][1:3]) if cfg["data_format"] == "channels_last"
                                     else cfg["shape"][2:]), \
        cfg["shape"][3 if cfg["data_format"] == "channels_last" else 1]
    strides = cfg["strides"] or cfg["pool_size"]
    if cfg["padding"] == "same":
        oh, ow = -(-h // strides[0]), -(-w // strides[1])
    else:
        oh = (h - cfg["pool_size"][0]) // strides[0] + 1
        ow = (w - cfg["pool_size"][1]) // strides[1] + 1
    return (n, oh, ow, c) if cfg["data_format"] == "channels_last" else (n, c, oh, ow)


@settings(max_examples=60)
@given(cfg=configs(), seed=st.integers(0, 2**16), dtype=st.sampled_from([np.float32, np.float64]))
@example(cfg=dict(shape=(2, 26, 26, 3), pool_size=(2, 2), strides=None, padding="valid",
                  data_format="channels_last"), seed=0, dtype=np.float32)
@example(cfg=dict(shape=(1, 5, 5, 1), pool_size=(3, 3), strides=(2, 2), padding="same",
                  data_format="channels_last"), seed=0, dtype=np.float64)
@example(cfg=dict(shape=(2, 7, 6, 35), pool_size=(3, 2), strides=(2, 1), padding="same",
                  data_format="channels_last"), seed=1, dtype=np.float32)
def test_forward_matches_sliding_window_reference(cfg: dict[str, Any], seed: int, dtype: type) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, cfg["shape"]).astype(dtype)  # small integers: plenty of ties
    y, argmax = P.max_pool2d_forward(x, **_attrs(cfg))
    mean = P.avg_pool2d_forward(x, **_attrs(cfg))
    assert y.shape == mean.shape == argmax.shape == _expected_out(cfg)
    assert y.dtype == mean.dtype == dtype and argmax.dtype == np.int32
    if x.size:
        want_max, want_mean = _sliding_reference(x, cfg["pool_size"], cfg["strides"] or cfg["pool_size"],
                                                 cfg["padding"], cfg["data_format"])
        np.testing.assert_array_equal(y, want_max)
        np.testing.assert_allclose(mean, want_mean, rtol=1e-6 if dtype == np.float32 else 1e-14)
    ref_y, ref_arg = R.max_pool2d_forward(x, **_attrs(cfg))
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(argmax, ref_arg)  # same first-maximum rule on ties
    y_only, no_record = P.max_pool2d_forward(x, **_attrs(cfg), argmax=False)  # inference
    assert no_record is None
    np.testing.assert_array_equal(y_only, y)


@settings(max_examples=50)
@given(cfg=configs(), seed=st.integers(0, 2**16))
def test_backward_matches_twin(cfg: dict[str, Any], seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, cfg["shape"]).astype(np.float64)
    y, argmax = P.max_pool2d_forward(x, **_attrs(cfg))
    dy = rng.standard_normal(y.shape)
    dx = P.max_pool2d_backward(dy, argmax, x.shape, **_attrs(cfg))
    np.testing.assert_allclose(dx, R.max_pool2d_backward(dy, argmax, x.shape, **_attrs(cfg)),
                               rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(P.avg_pool2d_backward(dy, x.shape, **_attrs(cfg)),
                               R.avg_pool2d_backward(dy, x.shape, **_attrs(cfg)), rtol=1e-14,
                               atol=1e-15)
    assert np.isclose(dx.sum(), dy.sum())  # max-pool routes every gradient somewhere, exactly once


def _numeric_grad(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dy: np.ndarray,
                  h: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        grad[i] = np.sum(dy * (f(xp) - f(xm))) / (2 * h)
    return grad


@settings(max_examples=25)
@given(cfg=configs(max_side=5), seed=st.integers(0, 2**16))
def test_backward_matches_finite_differences(cfg: dict[str, Any], seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(np.prod(cfg["shape"]))
    x = (rng.permutation(n) * 0.1).reshape(cfg["shape"])  # distinct values: no ties, no kinks
    y, argmax = P.max_pool2d_forward(x, **_attrs(cfg))
    dy = rng.standard_normal(y.shape)
    f_max = lambda v: P.max_pool2d_forward(v, **_attrs(cfg))[0]  # noqa: E731
    f_avg = lambda v: P.avg_pool2d_forward(v, **_attrs(cfg))  # noqa: E731
    np.testing.assert_allclose(P.max_pool2d_backward(dy, argmax, x.shape, **_attrs(cfg)),
                               _numeric_grad(f_max, x, dy), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(P.avg_pool2d_backward(dy, x.shape, **_attrs(cfg)),
                               _numeric_grad(f_avg, x, dy), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("pool, strides", [(2, None), (3, 1), (3, 2), (2, 3)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_large_batch_parity(pool: int, strides: int | None, data_format: str) -> None:
    # the reference CNN's activation: multi-threaded, overlapping and gapped windows included
    x = np.random.default_rng(4).standard_normal((64, 26, 26, 32)).astype(np.float32)
    if data_format == "channels_first":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    attrs = dict(pool_size=pool, strides=strides, padding="valid", data_format=data_format)
    y, argmax = P.max_pool2d_forward(x, **attrs)
    ref_y, ref_arg = R.max_pool2d_forward(x, **attrs)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(argmax, ref_arg)
    dy = np.ones_like(y)
    np.testing.assert_allclose(P.max_pool2d_backward(dy, argmax, x.shape, **attrs),
                               R.max_pool2d_backward(dy, argmax, x.shape, **attrs), rtol=1e-6)
    np.testing.assert_allclose(P.avg_pool2d_backward(dy, x.shape, **attrs),
                               R.avg_pool2d_backward(dy, x.shape, **attrs), rtol=1e-6)


def test_reference_cnn_pool_shapes() -> None:
    assert P.max_pool2d_forward(np.zeros((1, 26, 26, 32), np.float32), (2, 2))[0].shape == (1, 13, 13, 32)
    assert P.max_pool2d_forward(np.zeros((1, 11, 11, 64), np.float32), (2, 2))[0].shape == (1, 5, 5, 64)
    assert P.avg_pool2d_forward(np.zeros((1, 11, 11, 64)), 2, padding="same").shape == (1, 6, 6, 64)


def test_max_pool_ties_go_to_the_first_maximum() -> None:
    x = np.zeros((1, 4, 4, 1))
    y, argmax = P.max_pool2d_forward(x, 2)
    np.testing.assert_array_equal(argmax[0, :, :, 0], [[0, 2], [8, 10]])  # top-left of each window
    dx = P.max_pool2d_backward(np.ones_like(y), argmax, x.shape, 2)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
    x = np.array([[1.0, 5.0, 5.0], [5.0, 2.0, 5.0]]).reshape(1, 1, 2, 3)  # NCHW, row-major order
    y, argmax = P.max_pool2d_forward(x, (2, 2), strides=1, data_format="channels_first")
    np.testing.assert_array_equal(argmax.ravel(), [1, 1])  # both windows pick (0, 1)
    dx = P.max_pool2d_backward(np.ones_like(y), argmax, x.shape, (2, 2), 1,
                               data_format="channels_first")
    np.testing.assert_array_equal(dx.ravel(), [0, 2, 0, 0, 0, 0])  # overlapping windows add up


def test_avg_pool_same_divides_by_valid_elements() -> None:
    x = np.arange(9, dtype=np.float64).reshape(1, 3, 3, 1)
    y = P.avg_pool2d_forward(x, 2, padding="same")  # out 2x2, padding 1 row/col at bottom/right
    np.testing.assert_allclose(y[0, :, :, 0], [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8]])
    np.testing.assert_allclose(P.avg_pool2d_forward(np.ones((1, 5, 5, 1)), 3, 2, "same"), 1.0)
    dx = P.avg_pool2d_backward(np.ones_like(y), x.shape, 2, padding="same")
    np.testing.assert_allclose(dx[0, :, :, 0], [[0.25, 0.25, 0.5], [0.25, 0.25, 0.5], [0.5, 0.5, 1]])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pool1d_is_pool2d_with_height_one(data_format: str, padding: str) -> None:
    x = np.random.default_rng(5).standard_normal((2, 9, 3))  # (N, L, C) or (N, C, L)
    axis = 1 if data_format == "channels_last" else 2
    attrs = dict(pool_size=3, strides=2, padding=padding, data_format=data_format)
    attrs2 = dict(pool_size=(1, 3), strides=(1, 2), padding=padding, data_format=data_format)
    y, argmax = P.max_pool1d_forward(x, **attrs)
    y2, argmax2 = P.max_pool2d_forward(np.expand_dims(x, axis), **attrs2)
    np.testing.assert_array_equal(y, y2.squeeze(axis))
    np.testing.assert_array_equal(argmax, argmax2.squeeze(axis))
    dy = np.ones_like(y)
    np.testing.assert_allclose(P.max_pool1d_backward(dy, argmax, x.shape, **attrs),
                               R.max_pool1d_backward(dy, argmax, x.shape, **attrs))
    np.testing.assert_allclose(P.avg_pool1d_forward(x, **attrs), R.avg_pool1d_forward(x, **attrs))
    np.testing.assert_allclose(P.avg_pool1d_backward(dy, x.shape, **attrs),
                               R.avg_pool1d_backward(dy, x.shape, **attrs))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 7, 2), (1, 2, 2, 2, 3)])
def test_global_pooling(data_format: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(6)
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.5
    spatial = tuple(range(1, len(shape) - 1)) if data_format == "channels_last" else tuple(range(2, len(shape)))
    y, argmax = P.global_max_pool_forward(x, data_format)
    np.testing.assert_array_equal(y, x.max(axis=spatial))
    np.testing.assert_allclose(P.global_avg_pool_forward(x, data_format), x.mean(axis=spatial))
    dy = rng.standard_normal(y.shape)
    f_max = lambda v: P.global_max_pool_forward(v, data_format)[0]  # noqa: E731
    f_avg = lambda v: P.global_avg_pool_forward(v, data_format)  # noqa: E731
    np.testing.assert_allclose(P.global_max_pool_backward(dy, argmax, x.shape, data_format),
                               _numeric_grad(f_max, x, dy), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(P.global_avg_pool_backward(dy, x.shape, data_format),
                               _numeric_grad(f_avg, x, dy), rtol=1e-6, atol=1e-8)


@given(shape=st.lists(st.integers(1, 4), min_size=3, max_size=5).map(tuple), seed=st.integers(0, 2**16),
       data_format=st.sampled_from(["channels_last", "channels_first"]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_global_pools_match_their_twins(shape: tuple[int, ...], seed: int, data_format: str,
                                        dtype: type) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, shape).astype(dtype)  # small integers: ties in most channels
    dy = rng.standard_normal((shape[0], shape[-1] if data_format == "channels_last" else shape[1])).astype(dtype)
    y, weights = P.global_max_pool_forward(x, data_format)
    ry, rweights = R.global_max_pool_forward(x, data_format)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(weights, rweights)
    np.testing.assert_allclose(P.global_max_pool_backward(dy, weights, x.shape, data_format),
                               R.global_max_pool_backward(dy, rweights, x.shape, data_format), rtol=1e-6)
    np.testing.assert_allclose(P.global_avg_pool_forward(x, data_format),
                               R.global_avg_pool_forward(x, data_format), rtol=1e-6)
    np.testing.assert_allclose(P.global_avg_pool_backward(dy, x.shape, data_format),
                               R.global_avg_pool_backward(dy, x.shape, data_format), rtol=1e-6)


def test_global_max_pool_splits_ties_like_tensor_max_and_tensorflow() -> None:
    """One tie rule for reduce_max (TensorFlow's): GlobalMaxPooling and Tensor.max agree (issue 13)."""
    import minigrad

    x = np.array([[[[3.0, 1.0], [3.0, 2.0]], [[0.0, 2.0], [3.0, 2.0]]]])  # channel 0: three 3s; channel 1: three 2s
    y, weights = P.global_max_pool_forward(x)
    dx = P.global_max_pool_backward(np.array([[6.0, 3.0]]), weights, x.shape)
    np.testing.assert_array_equal(dx[0, :, :, 0], [[2, 2], [0, 2]])
    np.testing.assert_array_equal(dx[0, :, :, 1], [[0, 1], [1, 1]])
    t = minigrad.Tensor(x, requires_grad=True)
    (t.max(axis=(1, 2)) * minigrad.Tensor(np.array([[6.0, 3.0]]))).sum().backward()
    np.testing.assert_array_equal(t.grad, dx)


def test_zero_size_batches() -> None:
    for df, shape in (("channels_last", (0, 4, 4, 3)), ("channels_first", (0, 3, 4, 4))):
        x = np.zeros(shape, np.float32)
        y, argmax = P.max_pool2d_forward(x, 2, data_format=df)
        assert y.shape == ((0, 2, 2, 3) if df == "channels_last" else (0, 3, 2, 2))
        assert P.max_pool2d_backward(y, argmax, shape, 2, data_format=df).shape == shape
        assert P.avg_pool2d_backward(y, shape, 2, data_format=df).shape == shape


X = np.zeros((1, 4, 4, 2), np.float32)


@pytest.mark.parametrize("call, error, words", [
    (lambda: P.max_pool2d_forward(X, 5), ValueError,
     ["max_pool2d", "pool_size=(5, 5)", "strides=(5, 5)", "'valid'", "(4, 4)", "computed output size (0, 0)"]),
    (lambda: P.avg_pool2d_forward(X, (2, 5), strides=1), ValueError, ["avg_pool2d", "(3, 0)"]),
    (lambda: P.max_pool2d_forward(X, 0), ValueError, ["max_pool2d", "expected pool_size to be an int in [1, 2147483647]", "received 0"]),
    (lambda: P.max_pool2d_forward(X, 2, strides=(1, -1)), ValueError, ["expected strides to be an int in [1, ", "received (1, -1)"]),
    (lambda: P.max_pool2d_forward(X, (2, 2, 2)), TypeError, ["pool_size", "2 ints", "(2, 2, 2)"]),
    (lambda: P.max_pool2d_forward(X, 2, strides=True), TypeError, ["strides", "True"]),
    (lambda: P.max_pool2d_forward(X, 2.0), TypeError, ["pool_size", "2.0"]),
    (lambda: P.max_pool2d_forward(X, 2, padding="full"), ValueError, ["expected padding to be one of 'valid', 'same'", "'full'"]),
    (lambda: P.max_pool2d_forward(X, 2, data_format="NHWC"), ValueError, ["data_format", "'NHWC'"]),
    (lambda: P.max_pool2d_forward(X[0], 2), ValueError, ["rank 4", "(N, H, W, C)", "(4, 4, 2)"]),
    (lambda: P.max_pool1d_forward(X, 2), ValueError, ["max_pool1d", "rank 3", "(N, L, C)"]),
    (lambda: P.max_pool2d_forward(X.astype(np.int32), 2), TypeError, ["max_pool2d", "int32"]),
    (lambda: P.avg_pool2d_backward(np.zeros((1, 3, 3, 2)), X.shape, 2), ValueError,
     ["avg_pool2d backward", "(1, 2, 2, 2)", "(1, 3, 3, 2)"]),
    (lambda: P.max_pool2d_backward(np.zeros((1, 2, 2, 2)), np.zeros((1, 2, 2, 2), np.int32), X.shape, 2),
     TypeError, ["max_pool2d backward", "argmax must be what max_pool2d_forward returned", "received ndarray"]),
    # in range, but not from this forward: it used to lose gradient silently
    (lambda: P.max_pool2d_backward(np.zeros((1, 2, 2, 2)), P.max_pool2d_forward(X, 2)[1][:], X.shape, 2),
     TypeError, ["argmax must be what max_pool2d_forward returned", "received ForwardRecord"]),
    (lambda: P.max_pool2d_backward(np.zeros((1, 2, 2, 2)), P.max_pool2d_forward(X, 3, 2, "same")[1], X.shape, 2),
     ValueError, ["argmax comes from max_pool2d_forward with different arguments", "pool=(3, 3)"]),
    (lambda: P.max_pool2d_backward(np.zeros((1, 2, 2, 2)), P._record(
        np.full((1, 2, 2, 2), 16, np.int32).tobytes(), np.int32, (1, 2, 2, 2), None), X.shape, 2), TypeError, ["argmax must be what max_pool2d_forward returned"]),
    (lambda: P.global_max_pool_backward(np.zeros((1, 2)), np.full((1, 2), -1), X.shape), TypeError,
     ["global_max_pool backward", "weights must be what global_max_pool_forward returned"]),
    (lambda: P.global_avg_pool_forward(np.zeros((2, 0, 3))), ValueError, ["global_avg_pool", "(2, 0, 3)"]),
    (lambda: P.global_max_pool_forward(np.zeros((2, 3))), ValueError, ["global_max_pool", "rank >= 3"]),
])
def test_bad_input_is_rejected_with_a_clear_message(call: Callable, error: type, words: list[str]) -> None:
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d",
                                  "global_max_pool", "global_avg_pool"])
@settings(max_examples=10)
@given(data=st.data())
def test_op_forward_matches_its_reference(name: str, data: st.DataObject) -> None:
    from minigrad import ops

    op = ops.get(name)
    inputs, attrs = data.draw(op.strategy())
    np.testing.assert_allclose(ops.apply(name, *inputs, **attrs).numpy(), op.reference(*inputs, **attrs),
                               rtol=1e-12, atol=1e-14)


def test_max_pool_op_backward_through_tensor() -> None:
    from minigrad import Tensor, ops

    x = Tensor(np.array([[1.0, 3.0], [3.0, 2.0]]).reshape(1, 2, 2, 1), requires_grad=True)
    ops.apply("max_pool2d", x, pool_size=2).sum().backward()
    np.testing.assert_array_equal(x.grad.ravel(), [0, 1, 0, 0])  # tie: the first 3 in row-major order
    with pytest.raises(ValueError, match=r"max_pool2d: pool_size=\(3, 3\).*computed output size"):
        ops.apply("max_pool2d", x, pool_size=3)


def test_max_pool_op_records_argmax_only_when_a_gradient_flows() -> None:
    from minigrad import Tensor, no_grad, ops

    x = Tensor(np.random.default_rng(0).standard_normal((2, 6, 6, 20)), requires_grad=True)
    y = ops.apply("max_pool2d", x, pool_size=2)
    assert isinstance(y.node.ctx.saved[0], P.ForwardRecord)
    with no_grad():
        y_inference = ops.apply("max_pool2d", x, pool_size=2)
    assert y_inference.node is None
    np.testing.assert_array_equal(y_inference.data, y.data)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, R.max_pool2d_backward(
        np.ones(y.shape), R.max_pool2d_forward(x.data, 2)[1], x.shape, 2))


@pytest.mark.parametrize("channels", [3, 16, 35])  # scattered tail only, whole vectors + a tail
@pytest.mark.parametrize("pool, strides", [((2, 2), (2, 2)), ((3, 3), (1, 1))])  # disjoint, overlapping
def test_max_pool_backward_kernel_skips_argmax_outside_its_window(channels: int, pool, strides) -> None:
    from minigrad._ext import _pool

    x = np.random.default_rng(3).standard_normal((1, 6, 6, channels))
    y, record = P.max_pool2d_forward(x, pool, strides)
    dy = np.ones_like(y)
    argmax = np.array(record)  # a writable copy, as only a caller of the raw kernel could pass
    dx = np.empty_like(x)
    args = (*pool, *strides, 0, 0, 2)
    assert _pool.max_pool2d_backward(dy, argmax, dx, *args) == 0
    np.testing.assert_array_equal(dx, R.max_pool2d_backward(dy, argmax, x.shape, pool, strides))
    argmax[0, 0, 0, :] = 36  # one past the input
    argmax[0, -1, -1, 0] = -1
    bad = _pool.max_pool2d_backward(dy, argmax, dx, *args)
    assert bad == channels + 1
    if all(s >= p for s, p in zip(strides, pool)):  # disjoint windows: another window's index is skipped too
        argmax = np.array(record)
        argmax[0, 0, 0, -1] = argmax[0, 1, 1, -1]
        assert _pool.max_pool2d_backward(dy, argmax, dx, *args) == 1
        assert dx[0, :2, :2, -1].sum() == 0

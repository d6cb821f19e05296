"""Losses against NumPy transcriptions of Keras' formulas, gradchecks, and the fused softmax path."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import losses, ops
from minigrad.testing import gradcheck
from minigrad.tensor import Tensor

EPS = 1e-7


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _cce(y, p):
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return np.mean(-(y * np.log(p)).sum(-1))


def _data(seed, n=6, c=4):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, c))
    labels = rng.integers(0, c, size=n)
    return z, labels, np.eye(c)[labels]


def _path(loss_tensor):
    """Op names on the way from the scalar loss down to the per-sample values."""
    return loss_tensor.node.inputs[0].node.op.name


@settings(max_examples=15)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 8), c=st.integers(2, 6), smoothing=st.sampled_from([0.0, 0.1]))
def test_categorical_crossentropy_paths_agree(seed, n, c, smoothing):
    z, labels, y = _data(seed, n, c)
    y_s = y * (1 - smoothing) + smoothing / c
    expected = _cce(y_s, _softmax(z))
    loss = losses.CategoricalCrossentropy(label_smoothing=smoothing)
    zt = Tensor(z, requires_grad=True)
    fused = loss(y, ops.apply("softmax", zt))
    assert _path(fused) == "softmax_cross_entropy"
    fused.backward()
    zc = Tensor(z, requires_grad=True)
    e = (zc - Tensor(z.max(-1, keepdims=True))).exp()
    clipped = loss(y, e / e.sum(axis=-1, keepdims=True))  # not a softmax op: the clipped Keras path
    clipped.backward()
    np.testing.assert_allclose(fused.item(), expected, rtol=1e-10)
    np.testing.assert_allclose(clipped.item(), expected, rtol=1e-10)
    np.testing.assert_allclose(zt.grad, zc.grad, rtol=1e-8, atol=1e-12)
    logits = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing)(y, Tensor(z))
    np.testing.assert_allclose(logits.item(), expected, rtol=1e-10)


def test_fused_path_is_stable_where_clipping_saturates():
    z = np.array([[1000.0, 0.0], [0.0, 0.0]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    fused = losses.CategoricalCrossentropy()(y, ops.apply("softmax", Tensor(z, requires_grad=True)))
    np.testing.assert_allclose(fused.item(), (1000.0 + np.log(2)) / 2)
    clipped = losses.CategoricalCrossentropy()(y, Tensor(_softmax(z)))
    np.testing.assert_allclose(clipped.item(), (-np.log(EPS) + np.log(2)) / 2, rtol=1e-6)
    sparse = losses.SparseCategoricalCrossentropy(from_logits=True)(np.array([1, 0]), Tensor(z))
    np.testing.assert_allclose(sparse.item(), (1000.0 + np.log(2)) / 2)


def test_sparse_matches_categorical_and_accepts_keras_label_layouts():
    z, labels, y = _data(1)
    dense = losses.CategoricalCrossentropy()(y, Tensor(_softmax(z))).item()
    sparse = losses.SparseCategoricalCrossentropy()
    for lab in (labels, labels[:, None], labels.astype(np.float32), Tensor(labels)):
        np.testing.assert_allclose(sparse(lab, Tensor(_softmax(z))).item(), dense, rtol=1e-12)
    zt = Tensor(z, requires_grad=True)
    fused = sparse(labels, ops.apply("softmax", zt))
    assert _path(fused) == "sparse_softmax_cross_entropy"
    np.testing.assert_allclose(fused.item(), dense, rtol=1e-10)
    logits = losses.SparseCategoricalCrossentropy(from_logits=True)(labels, Tensor(z)).item()
    np.testing.assert_allclose(logits, dense, rtol=1e-10)


def test_binary_crossentropy_probabilities_logits_and_sigmoid_path():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(5, 3)) * 3
    y = rng.integers(0, 2, size=(5, 3)).astype(np.float64)
    p = 1 / (1 + np.exp(-z))
    pc = np.clip(p, EPS, 1 - EPS)
    expected = np.mean(-(y * np.log(pc) + (1 - y) * np.log(1 - pc)))
    np.testing.assert_allclose(losses.BinaryCrossentropy()(y, Tensor(p)).item(), expected, rtol=1e-9)
    exact = np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))
    np.testing.assert_allclose(losses.BinaryCrossentropy(from_logits=True)(y, Tensor(z)).item(), exact, rtol=1e-12)
    via_sigmoid = losses.BinaryCrossentropy()(y, ops.apply("sigmoid", Tensor(z, requires_grad=True)))
    np.testing.assert_allclose(via_sigmoid.item(), exact, rtol=1e-12)
    smooth = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2)(y, Tensor(z)).item()
    ys = y * 0.8 + 0.1
    np.testing.assert_allclose(smooth, np.mean(np.maximum(z, 0) - z * ys + np.log1p(np.exp(-np.abs(z)))), rtol=1e-12)
    col = losses.BinaryCrossentropy()(y[:, 0], Tensor(p[:, :1]))  # (N,) labels for (N, 1) outputs
    np.testing.assert_allclose(col.item(), np.mean(-(y[:, 0] * np.log(pc[:, 0]) + (1 - y[:, 0]) * np.log(1 - pc[:, 0]))))


def test_regression_losses_match_numpy():
    rng = np.random.default_rng(3)
    t, p = rng.normal(size=(7, 3)), rng.normal(size=(7, 3)) * 2
    e = p - t
    np.testing.assert_allclose(losses.get("mse")(t, Tensor(p)).item(), np.mean(e ** 2), rtol=1e-12)
    np.testing.assert_allclose(losses.get("mae")(t, Tensor(p)).item(), np.mean(np.abs(e)), rtol=1e-12)
    for delta in (0.5, 1.0, 2.5):
        a = np.abs(e)
        huber = np.where(a <= delta, 0.5 * e ** 2, delta * a - 0.5 * delta ** 2)
        np.testing.assert_allclose(losses.Huber(delta)(t, Tensor(p)).item(), np.mean(huber), rtol=1e-12)
    np.testing.assert_allclose(losses.MeanSquaredError(reduction="sum")(t, Tensor(p)).item(), np.sum(np.mean(e ** 2, -1)))
    none = losses.MeanAbsoluteError(reduction="none")(t, Tensor(p))
    np.testing.assert_allclose(none.data, np.mean(np.abs(e), -1))
    sw = rng.random(7)
    weighted = losses.MeanSquaredError()(t, Tensor(p), sample_weight=sw)
    np.testing.assert_allclose(weighted.item(), np.mean(np.mean(e ** 2, -1) * sw), rtol=1e-12)  # Keras: / N
    with pytest.raises(ValueError, match="sample_weight of shape"):
        losses.MeanSquaredError()(t, Tensor(p), sample_weight=np.ones(3))
    f32 = losses.get("mse")(t.astype(np.float32), Tensor(p.astype(np.float32)))
    assert f32.dtype == np.float32


@pytest.mark.parametrize("name", ["cce", "cce_fused", "cce_logits", "sparse", "sparse_fused", "bce", "bce_logits",
                                  "mse", "mae", "huber"])
def test_gradients_match_finite_differences(name):
    z, labels, y = _data(4, 5, 3)
    fns = {
        "cce": lambda q: losses.CategoricalCrossentropy()(y, q.exp() / q.exp().sum(axis=-1, keepdims=True)),
        "cce_fused": lambda q: losses.CategoricalCrossentropy(label_smoothing=0.1)(y, ops.apply("softmax", q)),
        "cce_logits": lambda q: losses.CategoricalCrossentropy(from_logits=True)(y, q),
        "sparse": lambda q: losses.SparseCategoricalCrossentropy()(labels, q.exp() / q.exp().sum(axis=-1, keepdims=True)),
        "sparse_fused": lambda q: losses.SparseCategoricalCrossentropy()(labels, ops.apply("softmax", q)),
        "bce": lambda q: losses.BinaryCrossentropy()(y, ops.apply("sigmoid", q) * 1.0),
        "bce_logits": lambda q: losses.BinaryCrossentropy(from_logits=True)(y, q),
        "mse": lambda q: losses.MeanSquaredError()(y, q),
        "mae": lambda q: losses.MeanAbsoluteError()(y, q),
        "huber": lambda q: losses.Huber(delta=0.7)(y * 0.3, q),
    }
    gradcheck(fns[name], z, name=name)


@pytest.mark.parametrize("loss,y_true,y_pred,match", [
    (losses.CategoricalCrossentropy(), np.array([0, 2, 1]), np.full((3, 4), 0.25),
     r"CategoricalCrossentropy: expected one-hot labels of shape \(3, 4\).*received y_true of shape \(3,\).*sparse"),
    (losses.CategoricalCrossentropy(), np.eye(3), np.full((3, 4), 0.25), r"shape \(3, 4\).*received y_true of shape \(3, 3\)"),
    (losses.CategoricalCrossentropy(), np.full((3, 4), 2.0), np.full((3, 4), 0.25), r"in \[0, 1\]"),
    (losses.SparseCategoricalCrossentropy(), np.eye(4)[:3], np.full((3, 4), 0.25), "SparseCategoricalCrossentropy.*one-hot"),
    (losses.SparseCategoricalCrossentropy(), np.array([0, 4, 1]), np.full((3, 4), 0.25), r"labels in \[0, 3\] for 4 classes"),
    (losses.SparseCategoricalCrossentropy(), np.array([0, -1, 1]), np.full((3, 4), 0.25), r"received values in \[-1, 1\]"),
    (losses.SparseCategoricalCrossentropy(), np.array([0.5, 1, 1]), np.full((3, 4), 0.25), "non-integer"),
    (losses.SparseCategoricalCrossentropy(), np.array([0, 1]), np.full((3, 4), 0.25), r"shape \(3,\).*received y_true of shape \(2,\)"),
    (losses.BinaryCrossentropy(), np.array([0.0, 3.0]), np.full((2,), 0.5), r"BinaryCrossentropy: expected labels in \[0, 1\]"),
    (losses.MeanSquaredError(), np.zeros((3, 2)), np.zeros((3, 4)), r"MeanSquaredError: expected targets of shape \(3, 4\)"),
    (losses.MeanSquaredError(), np.array([np.nan, 1.0]), np.zeros(2), "NaN"),
])
def test_bad_labels_name_the_loss(loss, y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        loss(y_true, Tensor(y_pred))


def test_get_names_and_round_trip():
    expected = {"categorical_crossentropy": losses.CategoricalCrossentropy, "CategoricalCrossentropy": losses.CategoricalCrossentropy,
                "sparse_categorical_crossentropy": losses.SparseCategoricalCrossentropy, "binary_crossentropy": losses.BinaryCrossentropy,
                "mse": losses.MeanSquaredError, "mean_squared_error": losses.MeanSquaredError, "mae": losses.MeanAbsoluteError,
                "huber": losses.Huber, "huber_loss": losses.Huber}
    for ident, cls in expected.items():
        assert type(losses.get(ident)) is cls
    assert losses.get(None) is None and losses.get("mse").name == "mean_squared_error"
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)
    clone = losses.get(json.loads(json.dumps(losses.serialize(loss))))
    assert type(clone) is losses.CategoricalCrossentropy and clone.get_config() == loss.get_config()
    custom = losses.get(lambda t, p: (p - t).abs())
    assert custom(np.zeros(3), Tensor(np.array([1.0, -2.0, 3.0]))).item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        losses.get("categorical_crossentropyy")
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.CategoricalCrossentropy(label_smoothing=2.0)
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(TypeError, match="floating-point predictions"):
        losses.MeanSquaredError()(np.zeros(2), np.zeros(2, dtype=np.int64))

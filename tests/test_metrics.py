"""Metrics against NumPy over several batches, Keras' 'accuracy' resolution, and bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import metrics
from minigrad.tensor import Tensor


def _batches(seed, n_batches=3, n=8, c=5):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_batches):
        p = rng.random((n, c))
        p[rng.random(n) < 0.3, :2] = 0.5  # ties straddling the top-k boundary
        out.append((rng.integers(0, c, size=n), p))
    return out


def _top_k(labels, p, k):
    target = p[np.arange(len(labels)), labels]
    return (p > target[:, None]).sum(-1) < k


@settings(max_examples=10)
@given(seed=st.integers(0, 2**16))
def test_accuracy_family_accumulates_like_numpy(seed):
    batches = _batches(seed)
    c = batches[0][1].shape[1]
    cat, sparse, top2, stop3 = (metrics.CategoricalAccuracy(), metrics.SparseCategoricalAccuracy(),
                                metrics.TopKCategoricalAccuracy(k=2), metrics.SparseTopKCategoricalAccuracy(k=3))
    for labels, p in batches:
        cat.update_state(np.eye(c)[labels], p)
        sparse.update_state(labels[:, None], Tensor(p))
        top2.update_state(np.eye(c)[labels], p)
        stop3.update_state(labels, p)
    labels = np.concatenate([b[0] for b in batches])
    p = np.concatenate([b[1] for b in batches])
    hits = np.mean(np.argmax(p, -1) == labels)
    assert cat.result() == pytest.approx(hits) and sparse.result() == pytest.approx(hits)
    assert top2.result() == pytest.approx(np.mean(_top_k(labels, p, 2)))
    assert stop3.result() == pytest.approx(np.mean(_top_k(labels, p, 3)))
    cat.reset_state()
    assert cat.result() == 0.0


def test_top_k_counts_ties_as_in():
    p = np.array([[0.5, 0.5, 0.5, 0.1]])
    assert metrics.SparseTopKCategoricalAccuracy(k=1)(np.array([2]), p) == 1.0
    assert metrics.SparseTopKCategoricalAccuracy(k=1)(np.array([3]), p) == 0.0


def test_binary_regression_and_mean_metrics():
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 2, size=(10, 1)).astype(np.float32), rng.random((10, 1))
    assert metrics.BinaryAccuracy()(y[:, 0], p) == pytest.approx(np.mean(y == (p > 0.5)))
    assert metrics.BinaryAccuracy(threshold=0.8)(y, p) == pytest.approx(np.mean(y == (p > 0.8)))
    t, q = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    mse, mae = metrics.get("mse"), metrics.get("mae")
    for half in (slice(0, 4), slice(4, 6)):
        mse.update_state(t[half], q[half])
        mae.update_state(t[half], q[half])
    assert mse.result() == pytest.approx(np.mean((t - q) ** 2)) and mse.name == "mse"
    assert mae.result() == pytest.approx(np.mean(np.abs(t - q)))
    mean = metrics.Mean(name="loss")
    mean.update_state(np.array([1.0, 2.0]))
    mean.update_state(4.0)
    assert mean.result() == pytest.approx(7.0 / 3)
    weighted = metrics.SparseCategoricalAccuracy()
    weighted.update_state(np.array([0, 1, 1]), np.eye(2)[[0, 0, 1]], sample_weight=np.array([1.0, 3.0, 0.0]))
    assert weighted.result() == pytest.approx(0.25)
    assert metrics.Accuracy()(np.array([1, 2, 3]), np.array([1, 2, 0])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("kwargs,expected", [
    (dict(loss="categorical_crossentropy"), metrics.CategoricalAccuracy),
    (dict(loss="sparse_categorical_crossentropy"), metrics.SparseCategoricalAccuracy),
    (dict(loss="binary_crossentropy"), metrics.BinaryAccuracy),
    (dict(loss="mse", y_shape=(None, 10), y_pred_shape=(None, 10)), metrics.CategoricalAccuracy),
    (dict(y_shape=(None,), y_pred_shape=(None, 10)), metrics.SparseCategoricalAccuracy),
    (dict(y_shape=(None, 1), y_pred_shape=(None, 10)), metrics.SparseCategoricalAccuracy),
    (dict(y_shape=(None, 1), y_pred_shape=(None, 1)), metrics.BinaryAccuracy),
    (dict(y_shape=(64, 10)), metrics.CategoricalAccuracy),
])
def test_accuracy_is_resolved_like_keras(kwargs, expected):
    metric = metrics.get("accuracy", **kwargs)
    assert type(metric) is expected and metric.name == "accuracy"


def test_accuracy_without_hints_decides_on_first_batch():
    acc = metrics.get("acc")
    assert acc.result() == 0.0
    acc.update_state(np.array([0, 1]), np.array([[0.9, 0.1], [0.8, 0.2]]))
    assert type(acc.inner) is metrics.SparseCategoricalAccuracy and acc.result() == 0.5 and acc.name == "acc"
    acc.reset_state()
    assert acc.result() == 0.0


@pytest.mark.parametrize("metric,y_true,y_pred,match", [
    (metrics.CategoricalAccuracy(), np.array([0, 1]), np.eye(3)[:2], r"categorical_accuracy: expected one-hot.*integer labels"),
    (metrics.SparseCategoricalAccuracy(), np.eye(3)[:2], np.eye(3)[:2], r"sparse_categorical_accuracy: .*one-hot"),
    (metrics.SparseTopKCategoricalAccuracy(k=2), np.array([0, 7]), np.eye(3)[:2], r"labels in \[0, 2\]"),
    (metrics.BinaryAccuracy(), np.zeros((4, 2)), np.zeros((4, 3)), r"binary_accuracy: expected y_true of shape \(4, 3\)"),
    (metrics.MeanSquaredError(), np.zeros(3), np.zeros(4), "mean_squared_error"),
])
def test_bad_input_names_the_metric(metric, y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        metric.update_state(y_true, y_pred)


def test_get_and_round_trip():
    assert metrics.get(None) is None
    assert type(metrics.get("top_k_categorical_accuracy")) is metrics.TopKCategoricalAccuracy
    assert type(metrics.get(metrics.BinaryAccuracy)) is metrics.BinaryAccuracy
    metric = metrics.TopKCategoricalAccuracy(k=3, name="top3")
    clone = metrics.get(json.loads(json.dumps(metrics.serialize(metric))))
    assert type(clone) is metrics.TopKCategoricalAccuracy and clone.get_config() == metric.get_config()
    wrapped = metrics.get(lambda t, p: np.abs(t - p))
    assert wrapped(np.zeros(2), np.array([1.0, 3.0])) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="binary_accuracy"):
        metrics.get("binary_acuracy")
    with pytest.raises(ValueError, match="TopKCategoricalAccuracy: expected k to be a positive int, received 0"):
        metrics.TopKCategoricalAccuracy(k=0)

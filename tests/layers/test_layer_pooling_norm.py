"""Pooling, BatchNormalization, activation layers and merge layers against NumPy."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import layers, models
from minigrad.errors import ShapeError
from minigrad.testing import gradcheck


def _x(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def test_max_and_average_pooling_match_numpy_windows() -> None:
    x = _x(2, 11, 11, 3)
    y = layers.MaxPooling2D((2, 2), dtype="float64")(x).data
    assert y.shape == (2, 5, 5, 3)  # floor(11 / 2)
    np.testing.assert_array_equal(y, x[:, :10, :10].reshape(2, 5, 2, 5, 2, 3).max(axis=(2, 4)))
    avg = layers.AveragePooling2D(2, dtype="float64")(x).data
    np.testing.assert_allclose(avg, x[:, :10, :10].reshape(2, 5, 2, 5, 2, 3).mean(axis=(2, 4)))
    first = layers.MaxPooling2D(2, data_format="channels_first", dtype="float64")(x.transpose(0, 3, 1, 2)).data
    np.testing.assert_array_equal(first, y.transpose(0, 3, 1, 2))


@settings(max_examples=30)
@given(size=st.integers(1, 12), k=st.integers(1, 4), s=st.none() | st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), kind=st.sampled_from([layers.MaxPooling2D, layers.AveragePooling2D]))
def test_pooling_output_shape_formula(size, k, s, padding, kind) -> None:
    stride = k if s is None else s
    expected = -(-size // stride) if padding == "same" else (size - k) // stride + 1
    layer = kind((k, 1), strides=None if s is None else (s, 1), padding=padding)
    if expected < 1:
        with pytest.raises(ShapeError, match="does not fit"):
            layer(np.zeros((1, size, 1, 1), np.float32))
        return
    assert layer.compute_output_shape((None, size, 1, 2)) == (None, expected, 1, 2)
    assert layer(np.zeros((1, size, 1, 2), np.float32)).shape == (1, expected, 1, 2)


def test_pooling_strides_padding_and_1d() -> None:
    layer = layers.MaxPooling2D(3, strides=2, padding="same")
    assert layer.compute_output_shape((None, 7, 8, 1)) == (None, 4, 4, 1)
    assert layer(np.ones((1, 7, 8, 1))).shape == (1, 4, 4, 1)
    x = _x(2, 7, 3)
    y = layers.MaxPooling1D(2, dtype="float64")(x).data
    np.testing.assert_array_equal(y, x[:, :6].reshape(2, 3, 2, 3).max(axis=2))
    z = layers.AveragePooling1D(3, strides=1, dtype="float64")(x).data
    np.testing.assert_allclose(z[:, 0], x[:, :3].mean(axis=1))
    with pytest.raises(ShapeError, match="MaxPooling2D.*does not fit"):
        layers.MaxPooling2D(4)(np.ones((1, 3, 3, 1)))
    with pytest.raises(ValueError, match="padding"):
        layers.MaxPooling2D(padding="causal")
    with pytest.raises(ValueError, match="pool_size"):
        layers.AveragePooling2D((2, 0))


def test_global_pooling() -> None:
    x = _x(2, 4, 5, 3)
    np.testing.assert_allclose(layers.GlobalAveragePooling2D(dtype="float64")(x).data, x.mean(axis=(1, 2)))
    np.testing.assert_array_equal(layers.GlobalMaxPooling2D(dtype="float64")(x).data, x.max(axis=(1, 2)))
    kept = layers.GlobalMaxPooling2D(keepdims=True, dtype="float64")(x)
    assert kept.shape == (2, 1, 1, 3)
    np.testing.assert_allclose(layers.GlobalAveragePooling1D(data_format="channels_first", dtype="float64")(
        x[:, 0]).data, x[:, 0].mean(axis=2))


def test_batchnorm_training_normalizes_and_updates_moving_statistics() -> None:
    x = _x(16, 3) * np.array([1.0, 2.0, 3.0]) + np.array([5.0, -1.0, 0.0])
    bn = layers.BatchNormalization(momentum=0.9, dtype="float64")
    y = bn(x, training=True).data
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3))
    np.testing.assert_allclose(bn.moving_mean.data, 0.1 * x.mean(0))
    np.testing.assert_allclose(bn.moving_variance.data, 0.9 + 0.1 * x.var(0))
    assert bn.moving_mean.grad is None and not bn.moving_mean.requires_grad


def test_batchnorm_inference_uses_moving_statistics_and_frozen_means_inference() -> None:
    bn = layers.BatchNormalization(axis=1, dtype="float64")
    x = _x(4, 2, 3, 3)
    bn(x)
    bn.set_weights([np.array([2.0, 3.0]), np.array([0.5, -0.5]), np.array([1.0, -1.0]), np.array([4.0, 9.0])])
    before = bn.get_weights()
    want = (x - np.array([1.0, -1.0])[:, None, None]) / np.sqrt(np.array([4.0, 9.0]) + 1e-3)[:, None, None]
    want = want * np.array([2.0, 3.0])[:, None, None] + np.array([0.5, -0.5])[:, None, None]
    np.testing.assert_allclose(bn(x).data, want)
    bn.trainable = False
    np.testing.assert_allclose(bn(x, training=True).data, want)
    for a, b in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_batchnorm_gradients_wrt_gamma_and_beta() -> None:
    bn = layers.BatchNormalization(dtype="float64")
    x = _x(5, 3)
    bn(x)

    def f(gamma, beta):
        bn.gamma, bn.beta = gamma, beta  # route the parameters through the graph being checked
        return bn(x, training=True)

    gradcheck(f, np.array([1.0, 2.0, -1.0]), np.array([0.1, 0.2, 0.3]), name="batch_normalization")


def test_batchnorm_bad_axis() -> None:
    with pytest.raises(ShapeError, match="axis 0"):
        layers.BatchNormalization(axis=0)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="momentum"):
        layers.BatchNormalization(momentum=1.5)


def test_activation_layers() -> None:
    x = np.array([[-2.0, -0.5, 0.3, 1.0, 4.0]])
    np.testing.assert_allclose(layers.ReLU(dtype="float64")(x).data, np.maximum(x, 0))
    np.testing.assert_allclose(layers.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.5, dtype="float64")(x).data,
                               [[-0.25, -0.1, -0.02, 1.0, 1.0]])
    np.testing.assert_allclose(layers.LeakyReLU(dtype="float64")(x).data, np.where(x > 0, x, 0.3 * x))
    np.testing.assert_allclose(layers.LeakyReLU(alpha=0.1, dtype="float64")(x).data, np.where(x > 0, x, 0.1 * x))
    np.testing.assert_allclose(layers.ELU(0.5, dtype="float64")(x).data, np.where(x > 0, x, 0.5 * np.expm1(x)))
    e = np.exp(x - x.max())
    np.testing.assert_allclose(layers.Softmax(dtype="float64")(x).data, e / e.sum())
    with pytest.raises(ValueError, match="negative_slope"):
        layers.ReLU(negative_slope=-1.0)


def test_merge_layers() -> None:
    a, b, c = _x(2, 3, seed=1), _x(2, 3, seed=2), _x(2, 3, seed=3)
    f64 = dict(dtype="float64")
    np.testing.assert_allclose(layers.Add(**f64)([a, b, c]).data, a + b + c)
    np.testing.assert_allclose(layers.Subtract(**f64)([a, b]).data, a - b)
    np.testing.assert_allclose(layers.Multiply(**f64)([a, b]).data, a * b)
    np.testing.assert_allclose(layers.Average(**f64)([a, b]).data, (a + b) / 2)
    np.testing.assert_allclose(layers.Maximum(**f64)([a, b]).data, np.maximum(a, b))
    np.testing.assert_allclose(layers.Minimum(**f64)([a, b]).data, np.minimum(a, b))
    np.testing.assert_allclose(layers.Concatenate(**f64)([a, _x(2, 1)]).data[:, :3], a)
    with pytest.raises(ShapeError, match="Add.*one shape"):
        layers.Add()([a, _x(2, 4)])
    with pytest.raises(ValueError, match="Subtract.*2 inputs"):
        layers.Subtract()([a, b, c])
    with pytest.raises(ShapeError, match="Concatenate"):
        layers.Concatenate(axis=1)([_x(2, 3, 4), _x(2, 2, 5)])
    with pytest.raises(TypeError, match="list"):
        layers.Add()(a)


def test_residual_block_in_the_functional_api() -> None:
    minigrad.set_seed(0)
    inp = layers.Input(shape=(6, 6, 4))
    h = layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    h = layers.Conv2D(4, 3, padding="same")(h)
    out = layers.Dense(2)(layers.GlobalAveragePooling2D()(layers.Add()([inp, h])))
    model = models.Model(inp, out)
    x = _x(3, 6, 6, 4).astype(np.float32)
    y = model(x)
    assert y.shape == (3, 2)
    y.sum().backward()
    assert all(w.grad is not None for w in model.trainable_weights)
    with pytest.raises(ShapeError, match="Add"):
        layers.Add()([inp, layers.Conv2D(3, 3, padding="same")(inp)])

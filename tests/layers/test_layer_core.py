"""Dense, Dropout, Flatten, Reshape, Activation, Input, and the reference CNN built layer by layer."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import activations, layers
from minigrad.errors import ShapeError

REFERENCE = [  # REFERENCE.md: layer, output shape, parameter count
    (lambda: layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), (None, 26, 26, 32), 320),
    (lambda: layers.MaxPooling2D((2, 2)), (None, 13, 13, 32), 0),
    (lambda: layers.Conv2D(64, (3, 3), activation="relu"), (None, 11, 11, 64), 18496),
    (lambda: layers.MaxPooling2D((2, 2)), (None, 5, 5, 64), 0),
    (lambda: layers.Conv2D(64, (3, 3), activation="relu"), (None, 3, 3, 64), 36928),
    (lambda: layers.Flatten(), (None, 576), 0),
    (lambda: layers.Dense(64, activation="relu"), (None, 64), 36928),
    (lambda: layers.Dense(10, activation="softmax"), (None, 10), 650),
]


def test_reference_cnn_shapes_and_parameter_counts() -> None:
    minigrad.set_seed(0)
    x = minigrad.Tensor(np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32))
    shape: tuple = (None, 28, 28, 1)
    total = 0
    for make, want_shape, want_params in REFERENCE:
        layer = make()
        shape = layer.compute_output_shape(shape)
        x = layer(x)
        assert shape == want_shape and x.shape == (3, *want_shape[1:])
        assert layer.count_params() == want_params
        assert len(layer.trainable_weights) == (2 if want_params else 0)
        total += layer.count_params()
    assert total == 93322
    np.testing.assert_allclose(x.data.sum(axis=1), 1.0, rtol=1e-5)


def test_dense_applies_to_the_last_axis_of_any_rank() -> None:
    layer = layers.Dense(2, dtype="float64")
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    y = layer(x)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (4, 2)
    np.testing.assert_allclose(y.data, x @ kernel + bias)
    assert layer.compute_output_shape((None, 3, 4)) == (None, 3, 2)
    with pytest.raises(ShapeError, match="Dense"):
        layer(np.ones((2, 5)))
    with pytest.raises(ShapeError, match="rank >= 2"):
        layers.Dense(2)(np.ones(3))


def test_dropout_scales_kept_units_and_is_identity_at_inference() -> None:
    layer = layers.Dropout(0.25)
    x = np.ones((200, 100), np.float32)
    np.testing.assert_array_equal(layer(x).data, x)
    minigrad.set_seed(7)
    y = layer(x, training=True).data
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02
    minigrad.set_seed(7)
    np.testing.assert_array_equal(layer(x, training=True).data, y)  # reproducible under set_seed
    shared = layers.Dropout(0.5, noise_shape=(None, 1))(x, training=True).data
    assert ((shared == 0).all(axis=1) | (shared != 0).all(axis=1)).all()
    for rate, error in ((-0.1, ValueError), (1.0, ValueError), ("0.5", TypeError)):
        with pytest.raises(error, match=r"Dropout '.*': expected rate to be a float in \[0, 1\), received"):
            layers.Dropout(rate)


def test_dropout_gradient_uses_the_same_mask() -> None:
    x = minigrad.Tensor(np.ones((4, 5)), requires_grad=True)
    y = layers.Dropout(0.5, dtype="float64")(x, training=True)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)


def test_flatten_orders_channels_first_like_channels_last() -> None:
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)  # (N, C, H, W)
    last = layers.Flatten()(x.transpose(0, 2, 3, 1)).data
    first = layers.Flatten(data_format="channels_first")(x).data
    np.testing.assert_array_equal(first, last)
    assert layers.Flatten()(np.ones(4)).shape == (4, 1)
    assert layers.Flatten().compute_output_shape((None, 3, None)) == (None, None)


def test_reshape_infers_one_axis_and_rejects_misfits() -> None:
    layer = layers.Reshape((-1, 4))
    assert layer(np.ones((2, 3, 4))).shape == (2, 3, 4)
    assert layer.compute_output_shape((None, 12)) == (None, 3, 4)
    with pytest.raises(ShapeError, match=r"Reshape.*\(2, 5\)"):
        layer(np.ones((2, 5)))
    with pytest.raises(ValueError, match="at most one -1"):
        layers.Reshape((-1, -1))
    with pytest.raises(TypeError, match="target_shape"):
        layers.Reshape(4)


def test_activation_layer_uses_the_registered_function() -> None:
    x = np.array([[-2.0, 0.5, 3.0]])
    for name in ("relu", "sigmoid", "tanh", "softmax", "selu", "gelu", "swish", "linear"):
        np.testing.assert_allclose(layers.Activation(name, dtype="float64")(x).data,
                                   activations.get(name)(x).data)
    assert layers.Activation("swish").get_config()["activation"] == "silu"


def test_input_layer_checks_batches_and_input_makes_symbols() -> None:
    layer = layers.InputLayer(shape=(3, 2))
    assert layer(np.ones((5, 3, 2))).shape == (5, 3, 2)
    with pytest.raises(ShapeError, match=r"InputLayer.*\(5, 2, 3\)"):
        layer(np.ones((5, 2, 3)))
    symbol = layers.Input(shape=(28, 28, 1), name="image")
    assert symbol.shape == (None, 28, 28, 1) and symbol.name == "image"
    out = layers.Conv2D(8, 3)(symbol)
    assert out.shape == (None, 26, 26, 8)
    with pytest.raises(TypeError, match="shape"):
        layers.Input()
    with pytest.raises(TypeError, match=r"Input: shape must be a tuple"):
        layers.Input(shape=784)
    with pytest.raises(TypeError, match=r"Dense 'd': expected input_shape \(without the batch axis\) to be a tuple"):
        layers.Dense(2, input_shape=784, name="d")
    with pytest.raises(ValueError, match="positive"):
        layers.Dense(2, input_shape=(0,))

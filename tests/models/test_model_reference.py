"""The issue's Keras code with minigrad imports, learning on the embedded digits, and saving delegation."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import layers, models
from minigrad.datasets import digits
from minigrad.utils import to_categorical


def test_keras_reference_code_runs_unchanged_on_mnist_shaped_arrays() -> None:
    rng = np.random.default_rng(0)
    train_images = rng.integers(0, 256, (256, 28, 28), dtype=np.uint8)
    train_labels = rng.integers(0, 10, 256)
    test_images = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
    test_labels = rng.integers(0, 10, 64)
    train_images = train_images.reshape((256, 28, 28, 1)).astype("float32") / 255
    test_images = test_images.reshape((64, 28, 28, 1)).astype("float32") / 255
    train_labels = to_categorical(train_labels)
    test_labels = to_categorical(test_labels)

    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation='relu'))
    model.add(layers.Dense(10, activation='softmax'))
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(train_images, train_labels, epochs=1, batch_size=64, verbose=0)
    test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=0)

    counts = [ln.split()[-1] for ln in lines if ln.startswith(" ") and ")" in ln and "Layer" not in ln]
    assert counts == ["320", "0", "18,496", "0", "36,928", "0", "36,928", "650"]
    assert "Total params: 93,322" in lines
    assert set(history.history) == {"loss", "accuracy"} and np.isfinite(history.history["loss"][0])
    assert np.isfinite(test_loss) and 0.0 <= test_acc <= 1.0


def test_learns_the_embedded_digits() -> None:
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = (x_train[..., None] / 16.0).astype("float32")
    x_test = (x_test[..., None] / 16.0).astype("float32")
    minigrad.set_seed(0)
    model = models.Sequential([
        layers.Conv2D(16, 3, activation="relu", input_shape=(8, 8, 1)),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=minigrad.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=3, batch_size=32, verbose=0, validation_split=0.1)
    assert history.history["val_accuracy"][-1] > 0.85
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.9


def test_save_and_load_delegate_to_minigrad_saving(tmp_path) -> None:
    minigrad.set_seed(0)
    model = models.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)), layers.Dense(2)])
    model.compile(optimizer="rmsprop", loss="mse")
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "model.mgz")
    restored = models.load_model(tmp_path / "model.mgz")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save_weights(tmp_path / "weights.mgz")
    fresh = models.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)), layers.Dense(2)])
    fresh.load_weights(tmp_path / "weights.mgz")
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_to_categorical() -> None:
    np.testing.assert_array_equal(to_categorical([0, 2, 1]), np.eye(3, dtype=np.float32)[[0, 2, 1]])
    assert to_categorical(np.array([[1], [0]]), 4).shape == (2, 4)  # a trailing axis of 1 is dropped
    assert to_categorical(np.array([[1, 2], [0, 0]])).shape == (2, 2, 3)
    assert to_categorical([1.0, 0.0], dtype="float64").dtype == np.float64
    for bad, match in (([-1, 0], ">= 0"), ([0, 3], "out of range"), ([0.5], "whole numbers"),
                       ([np.nan], "whole numbers")):
        with pytest.raises(ValueError, match=match):
            to_categorical(bad, num_classes=3)
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([0], num_classes=0)
    with pytest.raises(TypeError, match="integer class labels"):
        to_categorical(["a"])

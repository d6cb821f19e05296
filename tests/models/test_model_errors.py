"""Bad input to models: every case is a clear ValueError/TypeError naming what was wrong."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import layers, models
from minigrad.errors import ShapeError


def compiled(loss: str = "categorical_crossentropy") -> models.Sequential:
    minigrad.set_seed(0)
    model = models.Sequential([layers.Conv2D(2, 3, activation="relu", input_shape=(6, 6, 1)),
                               layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="rmsprop", loss=loss, metrics=["accuracy"])
    return model


X = np.random.default_rng(0).random((8, 6, 6, 1), dtype=np.float32)
Y = minigrad.to_categorical(np.arange(8) % 3, 3)


def test_fit_before_compile() -> None:
    model = models.Sequential([layers.Dense(3, input_shape=(4,))])
    for call in (lambda: model.fit(X, Y), lambda: model.evaluate(X, Y),
                 lambda: model.train_on_batch(X, Y), lambda: model.test_on_batch(X, Y)):
        with pytest.raises(RuntimeError, match="compile"):
            call()


def test_compile_without_loss_and_unknown_identifiers() -> None:
    model = compiled()
    model.compile(optimizer="sgd")  # Keras allows it: layers may add_loss, or train_step computes one
    with pytest.raises(ValueError, match="no loss to compute; provide a `loss` argument in compile"):
        model.fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match="rmsprop"):
        model.compile(optimizer="rmsprob", loss="mse")
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        model.compile(optimizer="sgd", loss="categorical_crossentropi")


def test_x_and_y_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="same number of samples.*8 inputs and 7 labels"):
        compiled().fit(X, Y[:7], verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        compiled().evaluate(X[:5], Y, verbose=0)


def test_data_of_the_wrong_shape_names_the_layer_and_both_shapes() -> None:
    model = compiled()
    with pytest.raises(ShapeError, match=r"conv2d.*expected shape=\(None, 6, 6, 1\), found shape=\(8, 6, 6\)"):
        model.fit(X[..., 0], Y, verbose=0)
    with pytest.raises(ValueError, match=r"expected shape=\(None, 6, 6, 1\), found shape=\(8, 5, 6, 1\)"):
        model.predict(X[:, :5], verbose=0)
    with pytest.raises(ValueError, match="expected shape"):
        model.fit(X, Y, validation_data=(X[:, :5], Y), verbose=0)


def test_layer_that_does_not_fit_is_refused_when_added() -> None:
    model = models.Sequential([layers.Dense(3, input_shape=(4,))])
    with pytest.raises(ValueError, match="Conv2D"):
        model.add(layers.Conv2D(2, 3))
    assert len(model.layers) == 1  # the model is still usable
    model.add(layers.Dense(2))
    assert model.output_shape == (None, 2)


@pytest.mark.parametrize("loss, labels, match", [
    ("categorical_crossentropy", np.arange(8) % 3, "CategoricalCrossentropy"),
    ("sparse_categorical_crossentropy", Y, "SparseCategoricalCrossentropy"),
    ("categorical_crossentropy", minigrad.to_categorical(np.arange(8) % 4, 4), "shape"),
    ("sparse_categorical_crossentropy", np.arange(8), "class labels in \\[0, 2\\]"),
])
def test_labels_that_do_not_fit_the_loss(loss: str, labels: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        compiled(loss).fit(X, labels, verbose=0)


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError),
                                               (True, TypeError), ("32", TypeError)])
def test_bad_batch_size(batch_size: object, error: type) -> None:
    model = compiled()
    with pytest.raises(error, match="fit: expected batch_size to be a positive int, received"):
        model.fit(X, Y, batch_size=batch_size, verbose=0)
    with pytest.raises(error, match="predict: expected batch_size"):
        model.predict(X, batch_size=batch_size, verbose=0)


def test_epochs_before_initial_epoch_and_negative_epochs() -> None:
    with pytest.raises(ValueError, match="epochs \\(1\\).*initial_epoch \\(3\\)"):
        compiled().fit(X, Y, epochs=1, initial_epoch=3, verbose=0)
    with pytest.raises(ValueError, match="fit: expected epochs to be a non-negative int, received -1"):
        compiled().fit(X, Y, epochs=-1, verbose=0)


def test_empty_data() -> None:
    with pytest.raises(ValueError, match="empty"):
        compiled().fit(X[:0], Y[:0], verbose=0)
    with pytest.raises(ValueError, match="empty"):
        compiled().predict(X[:0], verbose=0)
    with pytest.raises(ValueError, match="y is required"):
        compiled().fit(X, None, verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_x_or_y_is_reported(bad: float) -> None:
    x, y = X.copy(), Y.copy()
    x[3, 2, 2, 0] = bad
    with pytest.raises(ValueError, match="fit: x contains 1 NaN or infinite"):
        compiled().fit(x, Y, verbose=0)
    y[1, 0] = bad
    with pytest.raises(ValueError, match="fit: y contains 1 NaN or infinite"):
        compiled().fit(X, y, verbose=0)
    with pytest.raises(ValueError, match="evaluate: x contains"):
        compiled().evaluate(x, Y, verbose=0)
    with pytest.raises(ValueError, match="validation_data x contains"):
        compiled().fit(X, Y, validation_data=(x, Y), verbose=0)


def test_bad_validation_arguments() -> None:
    for split, error in ((1.0, ValueError), (-0.1, ValueError), ("0.2", TypeError)):
        with pytest.raises(error, match=r"fit: expected validation_split to be a float in \(0, 1\), received"):
            compiled().fit(X, Y, validation_split=split, verbose=0)
    with pytest.raises(ValueError, match="leaves"):
        compiled().fit(X[:1], Y[:1], validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match="validation_data must be a tuple"):
        compiled().fit(X, Y, validation_data=X, verbose=0)


def test_bad_verbose_and_non_numeric_data() -> None:
    with pytest.raises(ValueError, match="verbose"):
        compiled().fit(X, Y, verbose=3)
    with pytest.raises(TypeError, match="numbers"):
        compiled().fit(np.array([["a"] * 36] * 8).reshape(8, 6, 6, 1), Y, verbose=0)


def test_sequential_construction_errors() -> None:
    with pytest.raises(TypeError, match="expects a Layer"):
        models.Sequential([np.zeros(3)])
    with pytest.raises(TypeError, match="list of layers"):
        models.Sequential(layers.Dense(3))
    dense = layers.Dense(3, input_shape=(4,))
    with pytest.raises(ValueError, match="unique names"):
        models.Sequential([dense, layers.Dense(2, name=dense.name)])
    with pytest.raises(ValueError, match="only the first layer may set input_shape"):
        models.Sequential([layers.Dense(3, input_shape=(4,)), layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="no layers"):
        models.Sequential().predict(X, verbose=0)
    with pytest.raises(ValueError, match="not built"):
        models.Sequential([layers.Dense(3)]).count_params()


def test_set_weights_with_the_wrong_count_or_shapes() -> None:
    model = compiled()
    weights = model.get_weights()
    with pytest.raises(ValueError, match="expected a list of 4 arrays, received 3"):
        model.set_weights(weights[:3])
    with pytest.raises(ValueError, match="shape"):
        model.set_weights([w.T for w in weights])

"""Functional API: SymbolicTensor, layer calls on symbols, Model(inputs, outputs) with a residual block."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import layers, models
from minigrad.errors import ShapeError
from minigrad.models import Model, SymbolicTensor


def residual_model() -> Model:
    inputs = layers.Input(shape=(8, 8, 1))
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    y = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(8, 3, padding="same")(y)
    x = layers.Add()([x, y])                       # the skip connection
    x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return Model(inputs, outputs, name="resnet_block")


def stripes(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Vertical vs horizontal stripes with noise: an easy two-class image task."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, n)
    base = np.tile((np.arange(8) % 2).astype(np.float32), (8, 1))
    images = np.where(labels[:, None, None] == 0, base, base.T) + 0.2 * rng.standard_normal((n, 8, 8))
    return images[..., None].astype(np.float32), labels


def test_symbols_carry_shape_dtype_and_history() -> None:
    inputs = layers.Input(shape=(8, 8, 1), name="image")
    assert isinstance(inputs, SymbolicTensor)
    assert inputs.shape == (None, 8, 8, 1) and inputs.dtype == np.float32 and inputs.layer is None
    conv = layers.Conv2D(4, 3)
    out = conv(inputs)
    assert out.shape == (None, 6, 6, 4) and out.layer is conv and out.inputs == (inputs,)
    assert conv.built and conv.kernel.shape == (3, 3, 1, 4)


def test_wrong_wiring_fails_while_the_graph_is_written() -> None:
    inputs = layers.Input(shape=(8,))
    with pytest.raises(ShapeError, match="Conv2D"):
        layers.Conv2D(4, 3)(inputs)
    with pytest.raises(TypeError, match="cannot mix symbolic and concrete"):
        layers.Add()([inputs, np.zeros((1, 8), np.float32)])
    with pytest.raises(TypeError, match="expected one tensor, received a list of 2"):
        layers.Dense(2)([inputs, inputs])
    with pytest.raises(TypeError, match="expected a list of tensors"):
        layers.Add()(inputs)


def test_residual_block_summary_and_training() -> None:
    minigrad.set_seed(0)
    model = residual_model()
    assert [type(l).__name__ for l in model.layers] == [
        "Conv2D", "Conv2D", "Conv2D", "Add", "ReLU", "GlobalAveragePooling2D", "Dense"]
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    add_row = next(ln for ln in lines if "(Add)" in ln)
    assert "(None, 8, 8, 8)" in add_row and "Connected to" in "".join(lines)
    expected = (9 * 1 * 8 + 8) + 2 * (9 * 8 * 8 + 8) + (8 * 2 + 2)
    assert model.count_params() == expected and f"Total params: {expected:,}" in lines
    x, y = stripes()
    model.compile(optimizer=minigrad.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[1] >= 0.9
    assert model.predict(x[:3], verbose=0).shape == (3, 2)


def test_multi_input_and_multi_output_models() -> None:
    a, b = layers.Input(shape=(3,)), layers.Input(shape=(3,))
    shared = layers.Dense(2)
    joined = layers.Concatenate()([shared(a), shared(b)])   # one layer called twice
    out1, out2 = layers.Dense(1)(joined), layers.Dense(4)(joined)
    model = Model([a, b], [out1, out2])
    assert len(model.layers) == 4 and len(model.weights) == 6
    xa, xb = np.ones((5, 3), np.float32), np.zeros((5, 3), np.float32)
    p1, p2 = model.predict([xa, xb], batch_size=2, verbose=0)
    assert p1.shape == (5, 1) and p2.shape == (5, 4)
    direct = model([xa, xb])
    np.testing.assert_allclose(direct[1].data, p2, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="2 inputs"):
        model.predict(xa, verbose=0)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="single-output"):
        model.fit([xa, xb], np.zeros((5, 1)), verbose=0)


def test_two_input_model_trains() -> None:
    a, b = layers.Input(shape=(2,)), layers.Input(shape=(2,))
    out = layers.Dense(1)(layers.Add()([layers.Dense(4)(a), layers.Dense(4)(b)]))
    model = Model(inputs=[a, b], outputs=out)
    rng = np.random.default_rng(0)
    xa, xb = rng.standard_normal((64, 2)).astype(np.float32), rng.standard_normal((64, 2)).astype(np.float32)
    y = (xa[:, :1] - 2 * xb[:, 1:]).astype(np.float32)
    model.compile(optimizer=minigrad.optimizers.Adam(learning_rate=0.05), loss="mse")
    h = model.fit([xa, xb], y, epochs=30, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 0.05 * h.history["loss"][0]


def test_model_construction_errors() -> None:
    inputs = layers.Input(shape=(4,))
    hidden = layers.Dense(3)(inputs)
    other = layers.Input(shape=(4,))
    with pytest.raises(ValueError, match="not among the model inputs"):
        Model(other, hidden)
    with pytest.raises(ValueError, match="must come from layers.Input"):
        Model(hidden, layers.Dense(2)(hidden))
    with pytest.raises(TypeError, match="SymbolicTensors"):
        Model(inputs, np.zeros(3))
    with pytest.raises(ValueError, match="at least one"):
        Model([], hidden)


def test_functional_config_round_trip_rebuilds_the_same_graph() -> None:
    minigrad.set_seed(1)
    model = residual_model()
    clone = Model.from_config(model.get_config())
    assert [type(l).__name__ for l in clone.layers] == [type(l).__name__ for l in model.layers]
    clone.set_weights(model.get_weights())
    x, _ = stripes(6)
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_sequential_accepts_an_input_first_and_round_trips_its_config() -> None:
    minigrad.set_seed(2)
    model = models.Sequential([layers.Input(shape=(5,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    assert model.input_shape == (None, 5) and model.count_params() == 5 * 4 + 4 + 4 * 2 + 2
    clone = models.Sequential.from_config(model.get_config())
    assert clone.input_shape == (None, 5) and clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    x = np.arange(10, dtype=np.float32).reshape(2, 5)
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_deferred_build_from_the_first_data() -> None:
    model = models.Sequential([layers.Dense(4), layers.Dense(1)])
    assert model.input_shape is None
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 1), np.float32), verbose=0)
    assert model.input_shape == (None, 3) and model.count_params() == 3 * 4 + 4 + 4 + 1
    last = model.layers[-1]
    assert model.pop() is last and len(model.layers) == 1


def test_input_layer_first_declares_the_input_and_is_not_listed() -> None:
    model = models.Sequential([layers.InputLayer(shape=(4,)), layers.Dense(2)])
    assert model.input_shape == (None, 4) and [type(l).__name__ for l in model.layers] == ["Dense"]
    with pytest.raises(ValueError, match="only be added first"):
        model.add(layers.InputLayer(shape=(2,)))


def test_calling_a_model_on_wrong_symbols_names_the_model() -> None:
    model = models.Sequential([layers.Dense(2, input_shape=(4,))], name="inner")
    with pytest.raises(ShapeError, match=r"Sequential 'inner'.*expected shape=\(None, 4\), found shape=\(None, 3\)"):
        model(layers.Input(shape=(3,)))


def test_batch_size_none_means_32() -> None:
    model = models.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    steps: list[int] = []

    class Count(minigrad.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append(batch)

    model.fit(np.zeros((70, 2), np.float32), np.zeros((70, 1), np.float32), batch_size=None, verbose=0,
              callbacks=[Count()])
    assert steps == [0, 1, 2]


def test_build_with_an_explicit_shape() -> None:
    model = models.Sequential([layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(2)])
    model.build((None, 6, 6, 1))
    assert model.output_shape == (None, 2) and model.count_params() == 40 + 64 * 2 + 2
    model.build((32, 6, 6, 1))  # the same shape with a batch size: nothing to do
    with pytest.raises(ValueError, match="built for"):
        model.build((None, 7, 7, 1))
    with pytest.raises(ValueError, match="batch axis"):
        models.Sequential([layers.Dense(2)]).build((4,))

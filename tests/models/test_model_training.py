"""fit / evaluate / predict / train_on_batch / test_on_batch, callbacks and reproducibility."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import callbacks, layers, models, optimizers


def tiny_model(seed: int = 0, **compile_kwargs) -> models.Sequential:
    minigrad.set_seed(seed)
    model = models.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)),
                               layers.Dense(3, activation="softmax")])
    compile_kwargs.setdefault("optimizer", optimizers.Adam(learning_rate=0.02))
    compile_kwargs.setdefault("loss", "categorical_crossentropy")
    model.compile(**compile_kwargs)
    return model


def blobs(n: int = 96, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three well-separated Gaussian blobs in 4-D: (x, one-hot y, integer labels)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    centres = np.array([[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0]], dtype=np.float32)
    x = (centres[labels] + 0.3 * rng.standard_normal((n, 4))).astype(np.float32)
    return x, minigrad.to_categorical(labels, 3), labels


class Recorder(callbacks.Callback):
    """Records every hook call as (hook, argument) pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, object]] = []

    def __getattribute__(self, name: str):
        if name.startswith("on_"):
            calls = object.__getattribute__(self, "calls")
            return lambda *args: calls.append((name, args[0] if args and not isinstance(args[0], dict) else None))
        return object.__getattribute__(self, name)


def test_fit_learns_and_returns_history() -> None:
    x, y, _ = blobs()
    model = tiny_model(metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history is model.history
    assert history.epoch == list(range(15))
    assert set(history.history) == {"loss", "accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc >= 0.95 and loss < 0.5
    assert model.metrics_names == ["loss", "accuracy"]


def test_evaluate_returns_a_float_without_metrics_and_dicts_on_request() -> None:
    x, y, _ = blobs()
    model = tiny_model()
    loss = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {"loss": pytest.approx(loss)}


@pytest.mark.parametrize("loss, labels, expected", [
    ("categorical_crossentropy", "onehot", "categorical_accuracy"),
    ("sparse_categorical_crossentropy", "int", "sparse_categorical_accuracy"),
])
def test_accuracy_picks_the_keras_variant(loss: str, labels: str, expected: str) -> None:
    x, onehot, ints = blobs()
    model = tiny_model(loss=loss, metrics=["accuracy"])
    y = onehot if labels == "onehot" else ints
    model.fit(x, y, epochs=2, verbose=0)
    metric = model.metrics[1].metrics[0]  # [loss tracker, compiled metrics] as in Keras
    assert minigrad.metrics.registry.name_of(metric)[0] == expected


def test_binary_accuracy_for_one_output_unit() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    minigrad.set_seed(1)
    model = models.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(2,))])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.05), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] >= 0.9


def test_validation_split_and_validation_data_are_logged() -> None:
    x, y, _ = blobs()
    model = tiny_model(metrics=["accuracy"])
    h = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(h.history["val_loss"]) == 2
    xv, yv, _ = blobs(32, seed=5)
    h = model.fit(x, y, epochs=1, validation_data=(xv, yv), verbose=0)
    assert h.history["val_loss"][0] == pytest.approx(model.evaluate(xv, yv, verbose=0)[0], rel=1e-5)


def test_validation_split_takes_the_last_samples_before_shuffling() -> None:
    x, y, _ = blobs(40)
    model = tiny_model()
    seen: list[int] = []

    class CountTest(callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            seen.append(batch)

    model.fit(x, y, epochs=1, batch_size=4, validation_split=0.2, verbose=0, callbacks=[CountTest()])
    assert seen == [0, 1]  # 8 validation samples in batches of 4
    assert model.evaluate(x[32:], y[32:], verbose=0) == pytest.approx(model.history.history["val_loss"][0], rel=1e-5)


def test_callback_hooks_run_in_keras_order() -> None:
    x, y, _ = blobs(20)
    rec = Recorder()
    tiny_model().fit(x, y, epochs=2, batch_size=10, verbose=0, callbacks=[rec], validation_data=(x[:5], y[:5]))
    names = [c[0] for c in rec.calls]
    assert names[0] == "on_train_begin" and names[-1] == "on_train_end"
    epoch0 = names[1:names.index("on_epoch_end") + 1]
    assert epoch0 == ["on_epoch_begin", "on_train_batch_begin", "on_train_batch_end", "on_train_batch_begin",
                      "on_train_batch_end", "on_test_begin", "on_test_batch_begin", "on_test_batch_end",
                      "on_test_end", "on_epoch_end"]
    assert [c[1] for c in rec.calls if c[0] == "on_epoch_begin"] == [0, 1]


def test_stop_training_stops_after_the_current_batch() -> None:
    x, y, _ = blobs(40)
    batches: list[int] = []

    class Stopper(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)
            if batch == 1:
                self.model.stop_training = True

    h = tiny_model().fit(x, y, epochs=5, batch_size=10, verbose=0, callbacks=[Stopper()])
    assert batches == [0, 1] and h.epoch == [0]


def test_initial_epoch_and_a_callback_resuming_through_model_initial_epoch() -> None:
    x, y, _ = blobs(20)
    h = tiny_model().fit(x, y, epochs=3, initial_epoch=1, verbose=0)
    assert h.epoch == [1, 2]

    class Resume(callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.model._initial_epoch = 2

    h = tiny_model().fit(x, y, epochs=4, verbose=0, callbacks=[Resume()])
    assert h.epoch == [2, 3]
    assert tiny_model().fit(x, y, epochs=2, initial_epoch=2, verbose=0).epoch == []


def test_predict_is_batched_and_records_no_graph() -> None:
    x, y, _ = blobs(50)
    model = tiny_model()
    out = model.predict(x, batch_size=16, verbose=0)
    assert out.shape == (50, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    direct = model(x)
    np.testing.assert_allclose(out, direct.data, rtol=1e-5)
    np.testing.assert_allclose(model.predict_on_batch(x[:7]), out[:7], rtol=1e-5)
    assert all(w.grad is None for w in model.weights)


def test_train_on_batch_and_test_on_batch() -> None:
    x, y, _ = blobs(32)
    model = tiny_model(metrics=["accuracy"])
    before = model.test_on_batch(x, y)
    for _ in range(30):
        loss, acc = model.train_on_batch(x, y)
    after = model.test_on_batch(x, y, return_dict=True)
    assert set(after) == {"loss", "accuracy"}
    assert after["loss"] < before[0]
    assert model.optimizer.iterations == 30


def test_regularization_losses_enter_the_training_loss() -> None:
    x, y, _ = blobs(32)
    minigrad.set_seed(0)
    model = models.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,), kernel_regularizer="l2")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    assert len(model.losses) == 1
    plain = float(model.loss(y, model(x)).data)
    penalty = float(model.losses[0].data)
    assert penalty > 0
    assert model.test_on_batch(x, y) == pytest.approx(plain + penalty, rel=1e-5)


def test_frozen_layer_keeps_its_weights() -> None:
    x, y, _ = blobs(32)
    model = tiny_model()
    model.layers[0].trainable = False
    frozen = [w.copy() for w in model.layers[0].get_weights()]
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(frozen, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.count_params() == 8 * 4 + 8 + 8 * 3 + 3
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2


def test_same_seed_gives_bit_identical_weights_on_one_thread() -> None:
    x, y, _ = blobs(64)
    previous = minigrad.get_num_threads()
    minigrad.set_num_threads(1)
    try:
        runs = []
        for _ in range(2):
            minigrad.set_seed(123)
            model = models.Sequential([
                layers.Conv2D(4, 3, activation="relu", input_shape=(6, 6, 1)),
                layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.2),
                layers.Dense(3, activation="softmax")])
            model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
            images = np.tile(x[:, :, None, None], (1, 1, 9, 1)).reshape(64, 6, 6, 1)
            model.fit(images, y, epochs=1, batch_size=16, verbose=0)
            runs.append(model.get_weights())
    finally:
        minigrad.set_num_threads(previous)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_shuffle_false_is_deterministic_without_a_seed_reset() -> None:
    x, y, _ = blobs(32)
    a = tiny_model(seed=3)
    b = tiny_model(seed=3)
    minigrad.set_seed(99)
    a.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    minigrad.set_seed(7)
    b.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)


def test_fit_with_the_default_progress_bar_runs() -> None:
    x, y, _ = blobs(20)
    h = tiny_model().fit(x, y, epochs=1, batch_size=10)  # verbose='auto'
    assert len(h.history["loss"]) == 1


def test_float64_and_integer_inputs_are_converted_to_the_model_dtype() -> None:
    x, y, labels = blobs(24)
    model = tiny_model(loss="sparse_categorical_crossentropy")
    model.fit(x.astype(np.float64), labels, epochs=1, verbose=0)
    assert model.predict((x * 0).astype(np.int64), verbose=0).dtype == np.float32
    assert all(w.data.dtype == np.float32 for w in model.weights)


def test_a_fully_frozen_model_fits_without_changing() -> None:
    x, y, _ = blobs(16)
    model = tiny_model()
    for layer in model.layers:
        layer.trainable = False
    before = model.get_weights()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    h = model.fit(x, y, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_compile_accepts_objects_classes_and_config_dicts() -> None:
    x, y, labels = blobs(48)
    model = tiny_model(optimizer={"name": "sgd", "config": {"learning_rate": 0.1}},
                       loss=minigrad.losses.SparseCategoricalCrossentropy(),
                       metrics=[minigrad.metrics.SparseCategoricalAccuracy, "sparse_top_k_categorical_accuracy"])
    assert type(model.optimizer).__name__ == "SGD" and model.optimizer.learning_rate == pytest.approx(0.1)
    h = model.fit(x, labels, epochs=3, verbose=0)
    assert set(h.history) == {"loss", "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"}


def test_every_model_kind_is_a_training_host_with_its_training_state_from_init() -> None:
    from minigrad.models.steps import TrainingHost

    class Sub(models.Model):
        def __init__(self) -> None:
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    inputs = layers.Input((3,))
    for model in (models.Sequential([layers.Dense(2)]), models.Model(inputs, layers.Dense(2)(inputs)), Sub()):
        assert isinstance(model, TrainingHost)
        # state the loops read exists before compile(), so nothing is created outside __init__
        assert (model.optimizer, model.history, model._compiled, model._loss_layers) == (None, None, False, None)
    assert not isinstance(layers.Dense(2), TrainingHost)  # a layer has no input checks to train with


def test_a_user_layer_adding_losses_is_asked_every_step_and_a_built_in_one_only_when_regularized() -> None:
    class Penalty(layers.Dense):  # a built-in's subclass with its own call() may add_loss()
        def call(self, x, training=False):
            self.add_loss(1.0)
            return super().call(x)

    model = models.Sequential([layers.Dense(4, input_shape=(3,)), Penalty(2),
                               layers.Dense(2, kernel_regularizer="l2")])
    assert [type(l).__name__ for l in model._find_loss_layers()] == ["Penalty", "Dense"]

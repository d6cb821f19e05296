"""Overriding train_step / test_step / predict_step, as the Keras guide "Customizing what happens in
fit()" (PyTorch backend) does; compile() without a loss; Keras 3's compile arguments."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad as keras
from minigrad import layers, models


def data(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 32), dtype=np.float32)
    return x, (x[:, :1] * 2.0 - x[:, 1:2]).astype(np.float32)


class CustomModel(keras.Model):
    """The guide's first example, word for word apart from `torch.no_grad()`."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()  # torch.nn.Module.zero_grad() in the guide
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with keras.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def functional(cls: type = keras.Model, seed: int = 0):
    keras.set_seed(seed)
    inputs = layers.Input(shape=(32,))
    outputs = layers.Dense(1)(layers.Dense(8, activation="relu")(inputs))
    return cls(inputs, outputs)


def test_the_guides_custom_train_step_trains_like_the_default_one() -> None:
    x, y = data()
    runs = {}
    for cls in (keras.Model, CustomModel):
        model = functional(cls)
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        runs[cls] = (history.history, model.get_weights(), model.evaluate(x, y, verbose=0, return_dict=True))
    (h0, w0, e0), (h1, w1, e1) = runs.values()
    assert set(h1) == {"loss", "mae"}  # the guide's {"loss", "compile_metrics": {...}} spread out, as Keras
    np.testing.assert_allclose(h1["loss"], h0["loss"], rtol=1e-5)
    np.testing.assert_allclose(h1["mae"], h0["mae"], rtol=1e-5)
    for a, b in zip(w0, w1):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert e1 == pytest.approx(e0, rel=1e-5)


class LowerLevel(keras.Model):
    """The guide's 'going lower level': compile() with only an optimizer, own loss and metrics."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.loss_fn(y, y_pred)
        loss.backward()
        self.optimizer.apply_gradients(zip([v.grad for v in self.trainable_weights], self.trainable_weights))
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        return [self.loss_tracker, self.mae_metric]  # listed here, so fit resets them every epoch


def test_lower_level_train_step_with_its_own_metrics_reset_each_epoch() -> None:
    x, y = data()
    keras.set_seed(0)
    inputs = layers.Input(shape=(32,))
    model = LowerLevel(inputs, layers.Dense(1)(inputs))
    model.compile(optimizer="adam")  # no loss: train_step computes its own
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "mae"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.loss_tracker.count == 4  # four batches since the last epoch's reset


def test_predict_step_and_a_sequential_subclass() -> None:
    class Doubled(models.Sequential):
        def predict_step(self, data):
            return self(data, training=False) * 2.0

    keras.set_seed(0)
    model = Doubled([layers.Dense(2, input_shape=(32,))])
    x, _ = data(n=10)
    np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0), 2.0 * model(x).numpy(), rtol=1e-6)


def test_compile_with_add_loss_only_trains_on_the_sum_of_model_losses() -> None:
    class Penalised(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")

        def call(self, inputs, training=False):
            out = inputs * self.w
            self.add_loss((out * out).mean())
            return out

    keras.set_seed(0)
    model = models.Sequential([Penalised(input_shape=(4,))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1))
    x = np.ones((8, 4), np.float32)
    before = model.evaluate(x, verbose=0)
    assert before == pytest.approx(1.0)  # mean((x * 1)^2)
    model.fit(x, epochs=3, verbose=0)  # no y: the only loss is the one the layer adds
    assert model.evaluate(x, verbose=0) < before


def test_compile_accepts_keras_3_arguments() -> None:
    model = functional()
    model.compile(optimizer="sgd", loss="mse", loss_weights=[0.5], metrics=["mae"], weighted_metrics=[],
                  run_eagerly=True, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True)
    x, y = data(n=8)
    half = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    model.compile(optimizer="sgd", loss="mse")
    assert half == pytest.approx(0.5 * model.evaluate(x, y, verbose=0))
    with pytest.warns(UserWarning, match="jit_compile=True.*minigrad does not have"):
        model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    assert model.jit_compile is False
    with pytest.warns(UserWarning, match="steps_per_execution=8 has no effect"):
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=8)
    with pytest.raises(ValueError, match="loss_weights must be a float"):
        model.compile(optimizer="sgd", loss="mse", loss_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="compile: expected steps_per_execution to be a positive int, received 0"):
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=0)


def test_a_step_that_returns_no_dict_is_named() -> None:
    class Broken(keras.Model):
        def train_step(self, data):
            return 1.0

    model = functional(Broken)
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="train_step must return a dict of logs"):
        model.fit(*data(n=8), verbose=0)


def test_a_model_compiled_without_loss_saves_and_loads(tmp_path) -> None:
    keras.set_seed(0)
    model = models.Sequential([layers.Dense(2, activity_regularizer="l2", input_shape=(3,))])
    model.compile(optimizer="sgd")  # the activity penalty is the whole loss
    x = np.ones((4, 3), np.float32)
    model.fit(x, epochs=1, verbose=0)
    model.save(tmp_path / "m.mg")
    loaded = keras.saving.load_model(tmp_path / "m.mg")
    assert loaded.loss is None and loaded.evaluate(x, verbose=0) == pytest.approx(model.evaluate(x, verbose=0))


class WeightedCustom(keras.Model):
    """The guide's 'Supporting sample_weight & class_weight' train_step."""

    def train_step(self, data):
        if len(data) == 3:
            x, y, sample_weight = data
        else:
            sample_weight = None
            x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        self.optimizer.apply([v.grad for v in trainable_weights], trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred, sample_weight=sample_weight)
        return {m.name: m.result() for m in self.metrics}


def test_the_guides_weighted_train_step_matches_the_default_with_sample_weight() -> None:
    x, y = data()
    sw = np.random.default_rng(5).random(64).astype(np.float32)
    weights = []
    for cls in (keras.Model, WeightedCustom):
        model = functional(cls)
        model.compile(optimizer="sgd", loss="mse", weighted_metrics=["mae"])
        history = model.fit(x, y, sample_weight=sw, epochs=2, batch_size=16, shuffle=False, verbose=0)
        weights.append((model.get_weights(), history.history["mae"]))
    for a, b in zip(weights[0][0], weights[1][0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weights[0][1], weights[1][1], rtol=1e-5)
    model = functional()
    with pytest.raises(ValueError, match="2 gradients for 4 variables"):
        model.compile(optimizer="sgd", loss="mse") or model.optimizer.apply([None, None], model.trainable_weights)

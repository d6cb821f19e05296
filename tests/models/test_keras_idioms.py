"""Code written the way the Keras 3 guides write it, with only `import keras` -> `import minigrad as keras`.

Custom layers (the guide's Linear, nested sublayers, add_loss), subclassed models, layer outputs
(feature maps), models used as layers, get_layer / to_json, custom objects in saved files.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import minigrad as keras
from minigrad import layers
from minigrad.errors import ShapeError, UnknownNameError


class Linear(keras.layers.Layer):
    """The guide's layer: weights from build(), call(inputs) without training, no compute_output_shape."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return inputs @ self.w + self.b


class Block(keras.layers.Layer):
    """Sublayers in a list and in a dict; a Dropout inside inherits training from the outer call."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stack = [Linear(8), Linear(8)]
        self.heads = {"out": layers.Dense(3), "drop": layers.Dropout(0.999999, seed=0)}

    def call(self, x):
        for layer in self.stack:
            x = layer(x)
        return self.heads["out"](self.heads["drop"](x))


class ActivityPenalty(keras.layers.Layer):
    def __init__(self, rate=1e-2, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * (inputs * inputs).mean())
        return inputs


class MLP(keras.Model):
    """The guide's subclassed model: layers as attributes, call(inputs, training=None)."""

    def __init__(self, units=16, classes=3, **kwargs):
        super().__init__(**kwargs)
        self.units, self.classes = units, classes
        self.hidden = Linear(units)
        self.dropout = layers.Dropout(0.1)
        self.out = layers.Dense(classes, activation="softmax")

    def call(self, inputs, training=None):
        x = self.hidden(inputs)
        return self.out(self.dropout(x, training=training))


def _data(n: int = 64, features: int = 4, classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, features)).astype(np.float32)
    return x, keras.to_categorical(rng.integers(0, classes, n), classes)


def test_guide_linear_layer_in_a_functional_model_fits_and_predicts() -> None:
    inputs = keras.Input(shape=(4,))
    hidden = Linear(32)(inputs)
    assert hidden.shape == (None, 32)  # traced from call(), not assumed equal to the input shape
    outputs = layers.Dense(3, activation="softmax")(hidden)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = _data()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert model.predict(x, verbose=0).shape == (64, 3)
    linear = model.layers[0]
    assert [w.name for w in linear.weights] == [f"{linear.name}/variable", f"{linear.name}/variable_1"]
    assert linear.get_config() == {"name": linear.name, "trainable": True, "dtype": "float32", "units": 32}
    assert Linear.from_config(linear.get_config()).units == 32


def test_shapes_of_a_call_with_an_unknown_axis_are_probed() -> None:
    seq = keras.Input(shape=(None, 4))
    out = Linear(5)(seq)
    assert out.shape == (None, None, 5)


def test_wrong_wiring_is_blamed_on_the_layer_that_produced_the_shape() -> None:
    class Broken(keras.layers.Layer):
        def call(self, inputs):
            return inputs @ np.ones((3, 2), np.float32)  # expects 3 features

    with pytest.raises(ValueError, match="Broken 'broken'.*inputs of shape \\(None, 4\\).*output shape"):
        Broken()(keras.Input(shape=(4,)))
    dense = layers.Dense(2, name="dense_in")
    dense(np.ones((1, 4), np.float32))
    with pytest.raises(ShapeError, match=r"Dense 'dense_in'.*size 4 on axis -1.*\(None, 5\)"):
        dense(Linear(5)(keras.Input(shape=(4,))))  # Linear's real output shape reaches the Dense


def test_nested_sublayers_in_lists_and_dicts_are_tracked_and_trained() -> None:
    block = Block()
    x, y = _data()
    model = keras.Sequential([keras.Input(shape=(4,)), block])
    assert len(block.trainable_weights) == 6 and block.count_params() == (4 * 8 + 8) + (8 * 8 + 8) + (8 * 3 + 3)
    model.compile(optimizer="sgd", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    # Dropout(0.999999) inside the block dropped (almost) everything in fit: only the Dense bias moved
    moved = [not np.allclose(a, b) for a, b in zip(before, model.get_weights())]
    assert moved == [False, False, False, False, False, True]
    assert np.abs(model.predict(x, verbose=0) - before[-1]).max() > 1e-3  # inference: nothing dropped


def test_add_loss_in_call_is_added_to_the_training_loss() -> None:
    x, y = _data()
    model = keras.Sequential([keras.Input(shape=(4,)), ActivityPenalty(rate=10.0), layers.Dense(3, "softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    plain = keras.Model(model.inputs, model.layers[1](model.inputs[0]))
    plain.compile(optimizer="sgd", loss="categorical_crossentropy")
    with_penalty, without = model.evaluate(x, y, verbose=0), plain.evaluate(x, y, verbose=0)
    assert with_penalty == pytest.approx(without + 10.0 * float((x * x).mean()), rel=1e-5)


def test_activity_regularizer_penalty_is_divided_by_the_batch_size() -> None:
    layer = layers.Dense(2, kernel_initializer="ones", activity_regularizer=keras.regularizers.L1(1.0))
    layer(np.ones((8, 3), np.float32))  # every output is 3: L1 sums 8 * 2 * 3 = 48, over a batch of 8
    assert [float(p.item()) for p in layer.losses] == [pytest.approx(6.0)]


def test_subclassed_model_compile_fit_evaluate_predict_summary(tmp_path: Path) -> None:
    x, y = _data()
    model = MLP()
    with pytest.raises(ValueError, match="not built yet"):
        model.summary()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_split=0.25)
    assert len(history.history["loss"]) == 2
    loss, acc = model.evaluate(x, y, verbose=0)
    assert np.isfinite(loss) and 0 <= acc <= 1
    assert model.predict(x, verbose=0).shape == (64, 3) and model(x).shape == (64, 3)
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert lines[0] == 'Model: "mlp"' and any("dense" in l and "?" in l and "51" in l for l in lines)
    assert "Total params: 131" in lines  # 4*16+16 + 16*3+3
    assert [type(l).__name__ for l in model.layers] == ["Linear", "Dropout", "Dense"]  # assignment order

    model.save_weights(tmp_path / "w.mg")
    other = MLP()
    other.build((None, 4))
    other.load_weights(tmp_path / "w.mg")
    np.testing.assert_allclose(other.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_subclassed_model_saves_with_its_config_and_loads_with_custom_objects(tmp_path: Path) -> None:
    x, y = _data()
    model = MLP(units=8)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    with pytest.raises(UnknownNameError, match="custom class 'MLP'.*custom_objects="):
        keras.models.load_model(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", custom_objects={"MLP": MLP, "Linear": Linear})
    assert type(loaded) is MLP and loaded.units == 8
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    loaded.fit(x, y, epochs=1, verbose=0)  # compiled again, optimizer state restored


def test_registered_custom_layer_saves_and_loads_without_custom_objects(tmp_path: Path) -> None:
    @keras.saving.register_keras_serializable(package="Tests")
    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, inputs):
            return inputs * self.factor

    assert keras.saving.get_registered_name(Scale) == "Tests>Scale"
    assert keras.saving.get_custom_objects()["Tests>Scale"] is Scale
    model = keras.Sequential([keras.Input(shape=(3,)), Scale(3.0), layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    document = json.dumps(keras.saving.serialize_keras_object(model))
    assert '"Tests>Scale"' in document
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.layers[0], Scale) and loaded.layers[0].factor == 3.0
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="already registered"):
        keras.saving.register_keras_serializable(package="Tests", name="Scale")(Linear)


def test_custom_object_scope_and_unknown_names() -> None:
    model = keras.Sequential([keras.Input(shape=(4,)), Linear(2, name="lin")])
    text = model.to_json()
    with pytest.raises(UnknownNameError, match="'Linear'.*custom_objects"):
        keras.models.model_from_json(text)
    with keras.saving.custom_object_scope({"Linear": Linear}):
        clone = keras.models.model_from_json(text)
    assert clone.get_layer("lin").units == 2 and clone.count_params() == model.count_params()
    assert json.loads(clone.to_json()) == json.loads(text)


def test_feature_map_model_from_layer_outputs_of_a_sequential() -> None:
    model = keras.Sequential([
        layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)), layers.MaxPooling2D(2),
        layers.Conv2D(4, 3, activation="relu"), layers.Flatten(), layers.Dense(2),
    ])
    assert model.input is model.inputs[0] and model.output.shape == (None, 2)
    assert model.layers[0].input is model.input and model.layers[1].output.shape == (None, 3, 3, 4)
    maps = keras.Model(inputs=model.inputs, outputs=[l.output for l in model.layers[:4]])
    x = np.random.default_rng(0).random((5, 8, 8, 1)).astype(np.float32)
    out = maps.predict(x, verbose=0)
    assert [o.shape for o in out] == [(5, 6, 6, 4), (5, 3, 3, 4), (5, 1, 1, 4), (5, 4)]
    np.testing.assert_allclose(keras.Model(model.inputs, model.outputs).predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)
    with pytest.raises(AttributeError, match="never been called"):
        layers.Dense(2).output


def test_single_element_input_list_fits_and_predicts() -> None:
    inp = keras.Input(shape=(4,))
    model = keras.Model(inputs=[inp], outputs=layers.Dense(3, activation="softmax")(inp))
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    model.fit([x], y, epochs=1, verbose=0)
    assert model.predict(x, verbose=0).shape == (64, 3) and model.predict([x], verbose=0).shape == (64, 3)


def test_models_as_layers_nest_summarise_save_and_get_layer(tmp_path: Path) -> None:
    inner = keras.Sequential([layers.Dense(8, activation="relu"), layers.Dense(4)], name="inner")
    outer = keras.Sequential([keras.Input(shape=(3,)), inner, layers.Dense(2)], name="outer")
    inp = keras.Input(shape=(3,))
    encoder = keras.Model(inp, layers.Dense(5)(inp), name="encoder")
    x_in = keras.Input(shape=(3,))
    graph = keras.Model(x_in, layers.Dense(1)(encoder(x_in)), name="graph")
    assert outer.get_layer("inner") is inner and outer.get_layer(index=1).name == outer.layers[1].name
    with pytest.raises(ValueError, match="no such layer: 'nope'.*'inner'"):
        outer.get_layer("nope")
    lines: list[str] = []
    outer.summary(print_fn=lines.append)
    assert any(l.startswith(" inner (Sequential)") and "(None, 4)" in l and "68" in l for l in lines)
    assert outer.count_params() == (3 * 8 + 8) + (8 * 4 + 4) + (4 * 2 + 2)
    with pytest.raises(ValueError, match="expand_nested= is not supported"):
        outer.summary(expand_nested=True)
    x = np.random.default_rng(1).standard_normal((6, 3)).astype(np.float32)
    for model in (outer, graph):
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, np.zeros((6, model.output_shape[-1]), np.float32), epochs=1, verbose=0)
        model.save(tmp_path / f"{model.name}.mg")
        loaded = keras.models.load_model(tmp_path / f"{model.name}.mg")
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert isinstance(loaded.get_layer("encoder"), keras.Model)


def test_summary_of_a_sequential_of_already_built_layers() -> None:
    dense = layers.Dense(3)
    dense(np.ones((1, 2), np.float32))
    model = keras.Sequential([dense])  # built from the layer's own input shape, no build() needed
    assert model.input_shape == (None, 2)
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert "Total params: 9" in lines


def test_dict_inputs_by_name_fit_and_predict() -> None:
    a, b = keras.Input(shape=(2,), name="a"), keras.Input(shape=(3,), name="b")
    merged = layers.Concatenate()([layers.Dense(2)(a), layers.Dense(2)(b)])
    model = keras.Model(inputs={"a": a, "b": b}, outputs=layers.Dense(1)(merged))
    model.compile(optimizer="sgd", loss="mse")
    x = {"b": np.ones((8, 3), np.float32), "a": np.ones((8, 2), np.float32)}
    model.fit(x, np.zeros((8, 1), np.float32), epochs=1, verbose=0)
    assert model.predict(x, verbose=0).shape == (8, 1) and model(x).shape == (8, 1)
    with pytest.raises(ValueError, match=r"exactly the keys \['a', 'b'\], received \['a'\]"):
        model.predict({"a": x["a"]}, verbose=0)


def test_weights_created_in_init_and_non_trainable_state_updates() -> None:
    class ComputeSum(keras.layers.Layer):  # the guide's non-trainable weight, updated with assign_add
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

        def call(self, inputs):
            self.total.assign_add(inputs.sum(axis=0))
            return self.total

    layer = ComputeSum(2)
    layer(np.ones((2, 2), np.float32))
    np.testing.assert_array_equal(layer(np.ones((2, 2), np.float32)).numpy(), [4.0, 4.0])
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1


def test_base_layer_keyword_arguments_and_a_forgotten_super_init() -> None:
    class Doubler(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    layer = Doubler(activity_regularizer="l2", dtype=None, autocast=False)
    assert layer.dtype == np.float32 and layer.get_config()["activity_regularizer"] == "l2"  # as passed
    assert type(Doubler.from_config(layer.get_config()).activity_regularizer) is type(layer.activity_regularizer)
    layer(np.ones((2, 3), np.float32))
    assert len(layer.losses) == 1

    class NoSuper(keras.layers.Layer):
        def __init__(self):
            self.units = 2

        def call(self, inputs):
            return inputs

    with pytest.raises(TypeError, match="NoSuper: call super\\(\\).__init__\\(\\)"):
        NoSuper()(np.ones((1, 2), np.float32))


def test_add_loss_in_a_subclassed_models_own_call_joins_the_training_loss() -> None:
    class Penalised(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(3, activation="softmax")

        def call(self, inputs, training=None):
            self.add_loss(0.5 * (inputs * inputs).mean())
            return self.dense(inputs)

    x, y = _data()
    model = Penalised()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    total = model.evaluate(x, y, batch_size=64, verbose=0)
    assert len(model.losses) == 1
    base = keras.losses.get("categorical_crossentropy")(y, model.predict(x, verbose=0))
    assert total == pytest.approx(float(base.item()) + 0.5 * float((x * x).mean()), rel=1e-5)


@keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
def custom_fn(x):
    return x * x


@keras.saving.register_keras_serializable(package="Complex")
class Wrapper(keras.layers.Layer):
    """The serialization guide's layer: a sublayer in the config via serialize_keras_object."""

    def __init__(self, sublayer, **kwargs):
        super().__init__(**kwargs)
        self.sublayer = sublayer

    def call(self, x):
        return self.sublayer(x)

    def get_config(self):
        return {**super().get_config(), "sublayer": keras.saving.serialize_keras_object(self.sublayer)}

    @classmethod
    def from_config(cls, config):
        sublayer = keras.saving.deserialize_keras_object(config.pop("sublayer"))
        return cls(sublayer, **config)


def test_serialization_guide_registered_function_and_sublayer_config(tmp_path: Path) -> None:
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(1)(Wrapper(layers.Dense(4, activation=custom_fn))(inputs)))
    assert keras.saving.serialize_keras_object(custom_fn)["config"] == "my_package>custom_fn"
    model.compile(optimizer="adam", loss="mse")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].sublayer.activation is custom_fn
    x = np.random.default_rng(0).random((4, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_training_fixed_on_a_symbolic_call_and_subclassed_model_with_two_inputs() -> None:
    inputs = keras.Input(shape=(4,))
    always = layers.Dropout(0.5, seed=1)(inputs, training=True)  # Monte-Carlo dropout: on in predict too
    mc = keras.Model(inputs, always)
    x = np.ones((16, 4), np.float32)
    out = mc.predict(x, verbose=0)
    assert (out == 0).any() and set(np.unique(out)) <= {0.0, 2.0}
    assert keras.Model.from_config(mc.get_config()).predict(x, verbose=0).min() == 0.0

    class TwoTower(keras.Model):
        def __init__(self):
            super().__init__()
            self.left, self.right = layers.Dense(2), layers.Dense(2)

        def call(self, inputs):
            a, b = inputs
            return self.left(a) + self.right(b)

    model = TwoTower()
    model.compile(optimizer="sgd", loss="mse")
    model.fit([np.ones((8, 3), np.float32), np.ones((8, 5), np.float32)], np.zeros((8, 2), np.float32),
              epochs=1, verbose=0)
    assert model.input_shapes() == [(None, 3), (None, 5)] and model.count_params() == 8 + 12


class LogisticEndpoint(keras.layers.Layer):
    """The functional-API guide's endpoint layer, taking its two tensors as one list."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, inputs):
        logits, targets = inputs
        self.add_loss(self.loss_fn(targets, logits))
        return keras.ops.softmax(logits)


def test_a_custom_layer_taking_a_list_of_tensors_trains_from_add_loss_alone():
    inputs, targets = keras.Input(shape=(3,), name="inputs"), keras.Input(shape=(10,), name="targets")
    logits = layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")([logits, targets])
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam")
    rng = np.random.default_rng(0)
    data = {"inputs": rng.random((8, 3)), "targets": (rng.random((8, 10)) > 0.5).astype("float32")}
    history = model.fit(data, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    out = model.predict(data, verbose=0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_a_second_tensor_argument_names_the_keras_feature_and_the_list_form():
    a, b = keras.Input((4,)), keras.Input((4,))
    with pytest.raises(TypeError, match=r"call\(self, a, b\).*layer\(\[a, b\]\)"):
        LogisticEndpoint(name="endpoint")(a, b)

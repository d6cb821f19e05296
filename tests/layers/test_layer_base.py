"""Layer API: names, build once, input checks, weights, freezing, losses, config round trips."""
from __future__ import annotations

import numpy as np
import pytest

import minigrad
from minigrad import constraints, layers, regularizers
from minigrad.errors import ShapeError, UnknownNameError
from minigrad.testing import gradcheck

# one example of every built-in layer: (class, kwargs, input shape without batch, multi-input?)
EXAMPLES = [
    (layers.Dense, dict(units=3, activation="tanh", kernel_regularizer="l2", bias_constraint="non_neg"), (4,)),
    (layers.Activation, dict(activation="sigmoid"), (3,)),
    (layers.Dropout, dict(rate=0.25, noise_shape=[None, 1], seed=3), (4,)),
    (layers.Flatten, dict(data_format="channels_first"), (2, 3, 2)),
    (layers.Reshape, dict(target_shape=(-1, 2)), (6,)),
    (layers.InputLayer, dict(shape=(5,)), (5,)),
    (layers.Conv2D, dict(filters=4, kernel_size=(2, 3), strides=2, padding="same", dilation_rate=1, groups=2,
                         activation="relu", kernel_initializer="he_normal",
                         kernel_constraint=constraints.MaxNorm(3.0, axis=[0, 1, 2])), (5, 6, 2)),
    (layers.Conv1D, dict(filters=3, kernel_size=2, padding="causal", dilation_rate=2,
                         activity_regularizer=regularizers.L1(0.1)), (6, 2)),
    (layers.DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=2, padding="same",
                                  depthwise_regularizer="l1_l2"), (4, 4, 3)),
    (layers.MaxPooling2D, dict(pool_size=(2, 2), strides=1, padding="same"), (4, 4, 2)),
    (layers.AveragePooling2D, dict(pool_size=2, data_format="channels_first"), (2, 4, 4)),
    (layers.MaxPooling1D, dict(pool_size=3), (7, 2)),
    (layers.AveragePooling1D, dict(pool_size=2, strides=1), (5, 2)),
    (layers.GlobalAveragePooling2D, dict(keepdims=True), (3, 3, 2)),
    (layers.GlobalMaxPooling2D, dict(), (3, 3, 2)),
    (layers.GlobalAveragePooling1D, dict(), (3, 2)),
    (layers.GlobalMaxPooling1D, dict(data_format="channels_first"), (2, 3)),
    (layers.BatchNormalization, dict(momentum=0.9, gamma_regularizer="l2", beta_constraint="non_neg"), (3,)),
    (layers.ReLU, dict(max_value=2.0, negative_slope=0.1, threshold=0.5), (3,)),
    (layers.LeakyReLU, dict(negative_slope=0.2), (3,)),
    (layers.ELU, dict(alpha=0.5), (3,)),
    (layers.Softmax, dict(axis=-1), (3,)),
]
MERGES = [(layers.Add, {}), (layers.Subtract, {}), (layers.Multiply, {}), (layers.Average, {}),
          (layers.Maximum, {}), (layers.Minimum, {}), (layers.Concatenate, dict(axis=-1))]


def _data(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((2, *shape)).astype(np.float32)


@pytest.mark.parametrize("cls, kwargs, shape", EXAMPLES, ids=lambda v: getattr(v, "__name__", ""))
def test_config_round_trip_rebuilds_the_same_layer(cls, kwargs, shape) -> None:
    layer = cls(**kwargs)
    x = _data(shape)
    y = layer(x)
    assert tuple(y.shape) == (2, *layer.compute_output_shape((None, *shape))[1:])
    clone = layers.deserialize(layers.serialize(layer))
    assert type(clone) is cls and clone.get_config() == layer.get_config()
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x).data, y.data, rtol=1e-6)
    assert clone.count_params() == layer.count_params()


@pytest.mark.parametrize("cls, kwargs", MERGES, ids=lambda v: getattr(v, "__name__", ""))
def test_merge_config_round_trip(cls, kwargs) -> None:
    layer = cls(**kwargs)
    a, b = _data((3,), 1), _data((3,), 2)
    clone = cls.from_config(layer.get_config())
    np.testing.assert_allclose(clone([a, b]).data, layer([a, b]).data)


def test_automatic_names_follow_keras() -> None:
    layers.clear_names()
    assert [layers.Conv2D(1, 1).name for _ in range(3)] == ["conv2d", "conv2d_1", "conv2d_2"]
    assert layers.MaxPooling2D().name == "max_pooling2d"
    assert layers.ReLU().name == "re_lu"
    assert layers.BatchNormalization().name == "batch_normalization"
    assert layers.Dense(1, name="head").name == "head"


def test_registry_lookup_by_keras_and_class_names() -> None:
    assert layers.get("conv2d") is layers.Conv2D is layers.get("Conv2D")
    assert layers.get("MaxPool2D") is layers.MaxPooling2D
    assert layers.get("max_pooling2d") is layers.MaxPooling2D
    assert layers.get(layers.Dense) is layers.Dense
    with pytest.raises(UnknownNameError, match="conv2d"):
        layers.get("Conv2E")


def test_unknown_keyword_is_a_type_error_naming_the_layer() -> None:
    with pytest.raises(TypeError, match="Dense.*kernal_size"):
        layers.Dense(3, kernal_size=3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(activation="rleu"), "relu"),
    (dict(kernel_initializer="glorot_unifrom"), "glorot_uniform"),
    (dict(kernel_regularizer="l3"), "l1|l2"),
    (dict(kernel_constraint="max_nrom"), "max_norm"),
])
def test_unknown_identifiers_list_close_names(kwargs, match) -> None:
    with pytest.raises(UnknownNameError, match=match):
        layers.Conv2D(2, 3, **kwargs)


def test_build_runs_once_and_checks_later_inputs() -> None:
    layer = layers.Conv2D(4, 3)
    layer(_data((5, 5, 2)))
    kernel = layer.kernel
    layer(_data((6, 7, 2)))  # other spatial sizes are fine
    assert layer.kernel is kernel and len(layer.weights) == 2
    with pytest.raises(ShapeError, match=r"Conv2D '.*'.*size 2 on axis -1.*\(2, 5, 5, 3\)"):
        layer(_data((5, 5, 3)))
    with pytest.raises(ShapeError, match=r"rank 4.*\(2, 5, 2\)"):
        layer(_data((5, 2)))


def test_get_set_weights_round_trip_in_place() -> None:
    layer = layers.Dense(3)
    layer(_data((4,)))
    buffer = layer.kernel.data
    new = [np.arange(12, dtype=np.float32).reshape(4, 3), np.ones(3, np.float32)]
    layer.set_weights(new)
    assert layer.kernel.data is buffer  # views handed to optimizers stay valid
    for got, want in zip(layer.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    layer.get_weights()[0][...] = 7  # copies, not the weights themselves
    assert layer.kernel.data[0, 0] == 0


def test_set_weights_errors_name_the_problem() -> None:
    layer = layers.Dense(3)
    layer(_data((4,)))
    with pytest.raises(ValueError, match="expected 2 arrays.*received 1"):
        layer.set_weights([np.zeros((4, 3))])
    with pytest.raises(ShapeError, match=r"kernel' has shape \(4, 3\).*\(3, 4\)"):
        layer.set_weights([np.zeros((3, 4)), np.zeros(3)])


def test_count_params_needs_a_built_layer() -> None:
    with pytest.raises(ValueError, match="built"):
        layers.Dense(3).count_params()
    assert layers.Dense(3, input_shape=(4,)).get_config()["input_shape"] == [4]


def test_freezing_keeps_weights_out_of_training() -> None:
    layer = layers.BatchNormalization()
    layer(_data((3,)))
    assert [w.name.split("/")[-1] for w in layer.trainable_weights] == ["gamma", "beta"]
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4
    assert not any(w.requires_grad for w in layer.weights)
    dense = layers.Dense(2, trainable=False)
    out = dense(minigrad.Tensor(_data((3,)), requires_grad=True))
    out.sum().backward()
    assert dense.kernel.grad is None
    layer.trainable = True
    assert [w.requires_grad for w in layer.weights] == [True, True, False, False]


def test_weight_regularizer_losses_backprop_float64() -> None:
    layer = layers.Dense(3, kernel_regularizer=regularizers.L2(0.5), bias_regularizer="l1", dtype="float64")
    layer(_data((4,)))
    layer.set_weights([np.full((4, 3), 2.0), np.full(3, -1.0)])
    penalties = layer.losses
    assert [float(p.item()) for p in penalties] == pytest.approx([0.5 * 4 * 12, 0.01 * 3])
    sum(penalties[1:], penalties[0]).backward()
    np.testing.assert_allclose(layer.kernel.grad, 2 * 0.5 * layer.kernel.data)
    np.testing.assert_allclose(layer.bias.grad, -0.01 * np.ones(3))


def test_activity_penalty_comes_from_the_last_call() -> None:
    layer = layers.Dense(2, activity_regularizer=regularizers.L1(1.0), kernel_initializer="ones")
    layer(np.ones((1, 3), np.float32))
    assert len(layer.losses) == 1 and layer.losses[0].item() == pytest.approx(6.0)
    layer(np.zeros((1, 3), np.float32))
    assert len(layer.losses) == 1 and layer.losses[0].item() == 0.0


def test_float64_layers_and_input_casting() -> None:
    layer = layers.Conv2D(2, 2, dtype="float64")
    y = layer(_data((3, 3, 1)))  # float32 data is cast to the layer dtype
    assert layer.kernel.dtype == np.float64 and y.dtype == np.float64
    with pytest.raises(TypeError, match="float32 or float64"):
        layers.Dense(2, dtype="int32")


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.Dense(3, activation="tanh", dtype="float64"), (2, 4)),
    (lambda: layers.Conv2D(2, 2, strides=2, padding="same", dilation_rate=1, dtype="float64"), (1, 3, 3, 2)),
    (lambda: layers.Conv1D(2, 2, padding="causal", dilation_rate=2, dtype="float64"), (1, 5, 1)),
    (lambda: layers.DepthwiseConv2D(2, depth_multiplier=2, dtype="float64"), (1, 3, 3, 2)),
    (lambda: layers.BatchNormalization(dtype="float64"), (4, 3)),
    (lambda: layers.Flatten(data_format="channels_first", dtype="float64"), (2, 2, 3)),
    (lambda: layers.ELU(dtype="float64"), (2, 3)),
], ids=["dense", "conv2d", "conv1d", "depthwise", "batchnorm", "flatten", "elu"])
def test_layer_input_gradients_match_finite_differences(make, shape) -> None:
    layer = make()
    x = np.random.default_rng(1).uniform(0.1, 1.0, shape) * np.random.default_rng(2).choice([-1, 1], shape)
    gradcheck(lambda t: layer(t, training=True), x, name=layer.name)


def test_sublayers_are_tracked() -> None:
    class Block(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = [layers.Dense(3), layers.Dense(2, kernel_regularizer="l2")]

        def call(self, x, training=False):
            return self.inner[1](self.inner[0](x))

    block = Block()
    block(_data((4,)))
    assert block.count_params() == 4 * 3 + 3 + 3 * 2 + 2
    assert len(block.losses) == 1
    block.trainable = False
    assert block.trainable_weights == [] and not block.inner[0].kernel.requires_grad


def test_weight_constraint_applied_in_place() -> None:
    layer = layers.Dense(2, kernel_constraint="non_neg")
    layer(_data((3,)))
    buffer = layer.kernel.data
    layer.kernel.apply_constraint()
    assert layer.kernel.data is buffer and (buffer >= 0).all()


def test_same_seed_gives_the_same_initial_weights() -> None:
    def build() -> list[np.ndarray]:
        minigrad.set_seed(11)
        stack = [layers.Conv2D(4, 3, kernel_initializer="he_uniform"), layers.Flatten(),
                 layers.Dense(3, kernel_initializer="orthogonal"), layers.Dropout(0.5)]
        x = minigrad.Tensor(np.ones((1, 5, 5, 1), np.float32))
        for layer in stack:
            x = layer(x, training=True)
        return [w for layer in stack for w in layer.get_weights()] + [x.data]

    for a, b in zip(build(), build()):
        np.testing.assert_array_equal(a, b)


def test_import_minigrad_loads_no_heavy_optional_module() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, minigrad; print(sorted(m for m in ('hypothesis', 'scipy.signal', 'matplotlib') "
            "if m in sys.modules))")
    root = Path(minigrad.__file__).resolve().parents[1]  # where this minigrad is importable from
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"


def test_add_weight_defaults_and_bad_shapes() -> None:
    layer = layers.Layer(name="custom")
    w = layer.add_weight(3, initializer=None, name="w")  # Keras: None means glorot_uniform
    assert w.shape == (3,) and w.name == "custom/w" and w.requires_grad
    frozen = layer.add_weight("s", (2, 2), "ones", trainable=False)  # minigrad's older positional form
    legacy = layer.add_weight("r", (2,), "zeros", "l2", "non_neg")
    wide = layer.add_weight("d", (2,), dtype="float64")
    assert legacy.regularizer is not None and legacy.constraint is not None and not legacy.data.any()
    assert wide.dtype == np.float64 and layer.add_weight().shape == () and layer._weights[-1].name == "custom/variable"
    del layer._weights[2:]
    assert layer.weights == [w, frozen] and not frozen.requires_grad
    with pytest.raises(ValueError, match=r"custom.*'v'.*\(2, -1\)"):
        layer.add_weight("v", (2, -1))


def test_build_from_is_the_one_checked_build_entry_and_build_stays_the_users() -> None:
    shapes: list[tuple] = []

    class Probe(layers.Layer):
        input_spec = layers.InputSpec(ndim=2)

        def build(self, input_shape):  # as the Keras guides write it: no super(), no self.built
            shapes.append(input_shape)
            self.w = self.add_weight(shape=(input_shape[-1], 2))

        def call(self, x):
            return x @ self.w

    assert Probe.build is Probe.__dict__["build"]  # not wrapped behind the user's back
    layer = Probe()
    with pytest.raises(ShapeError, match=r"Probe '.*': expected input of rank 2, received input of shape \(None, 3, 1\)"):
        layer.build_from((4, 3, 1))
    assert shapes == [] and not layer.built  # the shape is checked before build() runs
    layer(np.ones((4, 3), np.float32))
    layer(np.ones((5, 3), np.float32))
    assert shapes == [(None, 3)] and layer.built and len(layer.weights) == 1  # built once, batch axis None

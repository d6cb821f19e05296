"""Conv2DTranspose / Conv1DTranspose: forward against a NumPy scatter, Keras output shapes, errors."""
import itertools

import numpy as np
import pytest

from minigrad import Sequential, layers, ops
from minigrad.ops.transposed_conv import transpose_output_length


def scatter_reference(x, w, stride, padding, output_padding, dilation):
    """y[o*s + k*d - pad] += x[o] w[k] (channels_last, 2-D), cropped as TF crops 'same'."""
    n, h, wd, c = x.shape
    kh, kw, f, _ = w.shape
    out = [transpose_output_length(size, k, padding, None if output_padding is None else output_padding, stride,
                                   dilation) for size, k in ((h, kh), (wd, kw))]
    full = [(size - 1) * stride + dilation * (k - 1) + 1 for size, k in ((h, kh), (wd, kw))]
    y = np.zeros((n, max(full[0], out[0]), max(full[1], out[1]), f))
    for i, j, a, b in itertools.product(range(h), range(wd), range(kh), range(kw)):
        y[:, i * stride + a * dilation, j * stride + b * dilation] += x[:, i, j] @ w[a, b].T
    before = []
    for length, size, k in zip(out, (h, wd), (kh, kw)):
        total = max((size - 1) * stride + dilation * (k - 1) + 1 - length, 0) if padding == "same" else 0
        before.append(total // 2)
    return y[:, before[0]:before[0] + out[0], before[1]:before[1] + out[1]]


@pytest.mark.parametrize("stride, padding, output_padding, dilation, kernel", [
    (1, "valid", None, 1, 3), (2, "valid", None, 1, 3), (2, "same", None, 1, 3), (3, "same", None, 1, 2),
    (2, "valid", 1, 1, 3), (2, "same", 1, 1, 3), (1, "same", None, 2, 3), (3, "valid", None, 1, 2),
])
def test_forward_matches_numpy_scatter(stride, padding, output_padding, dilation, kernel):
    rng = np.random.default_rng(stride * 7 + kernel)
    x, w = rng.normal(size=(2, 4, 3, 3)), rng.normal(size=(kernel, kernel, 2, 3))
    y = ops.conv_transpose(x, w, strides=stride, padding=padding, output_padding=output_padding,
                           dilation_rate=dilation)
    np.testing.assert_allclose(y.numpy(), scatter_reference(x, w, stride, padding, output_padding, dilation),
                               rtol=1e-10, atol=1e-12)


def test_channels_first_and_1d_agree_with_channels_last_2d():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(2, 4, 5, 3)), rng.normal(size=(3, 3, 2, 3))
    last = ops.conv_transpose(x, w, strides=2, padding="same").numpy()
    first = ops.conv_transpose(x.transpose(0, 3, 1, 2), w, strides=2, padding="same", data_format="channels_first")
    np.testing.assert_allclose(first.numpy().transpose(0, 2, 3, 1), last, rtol=1e-12)
    one_d = ops.conv_transpose(x[:, 0], w[1], strides=2, output_padding=1).numpy()
    np.testing.assert_allclose(one_d, scatter_reference(x[:, :1], w[1:2], 2, "valid", 1, 1)[:, 0], rtol=1e-12)


@pytest.mark.parametrize("config, input_shape, expected", [
    ({"filters": 8, "kernel_size": 3}, (None, 7, 7, 4), (None, 9, 9, 8)),
    ({"filters": 8, "kernel_size": 3, "strides": 2}, (None, 7, 7, 4), (None, 15, 15, 8)),
    ({"filters": 8, "kernel_size": 3, "strides": 2, "padding": "same"}, (None, 7, 5, 4), (None, 14, 10, 8)),
    ({"filters": 8, "kernel_size": 4, "strides": 2, "padding": "same", "output_padding": 1}, (None, 7, 7, 4),  # 6*2+4-4+1
     (None, 13, 13, 8)),
    ({"filters": 8, "kernel_size": 3, "strides": 2, "output_padding": 1}, (None, 7, 7, 4), (None, 16, 16, 8)),
    ({"filters": 8, "kernel_size": 1, "strides": 3}, (None, 2, 2, 4), (None, 6, 6, 8)),
    ({"filters": 8, "kernel_size": 3, "data_format": "channels_first"}, (None, 4, 7, 7), (None, 8, 9, 9)),
])
def test_output_shape_follows_keras(config, input_shape, expected):
    layer = layers.Conv2DTranspose(**config)
    assert layer.compute_output_shape(input_shape) == expected
    concrete = (2,) + input_shape[1:]
    assert layer(np.zeros(concrete, np.float32)).shape == (2,) + expected[1:]


def test_decoder_trains_and_keeps_keras_defaults_and_config():
    layer = layers.Conv2DTranspose(4, (3, 3))
    assert (layer.strides, layer.padding, layer.output_padding, layer.dilation_rate, layer.data_format) == \
        ((1, 1), "valid", None, (1, 1), "channels_last")
    model = Sequential([layers.Input((4, 4, 2)), layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
                        layers.Conv2D(1, 3, padding="same")])
    model.compile(optimizer="adam", loss="mse")
    assert model.layers[0].kernel.shape == (3, 3, 3, 2)
    x = np.random.default_rng(0).normal(size=(8, 4, 4, 2)).astype(np.float32)
    history = model.fit(x, np.zeros((8, 8, 8, 1), np.float32), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    config = layers.Conv1DTranspose(2, 3, strides=2, output_padding=1).get_config()
    assert config["output_padding"] == 1 and "groups" not in config
    assert layers.Conv1DTranspose.from_config(config).get_config() == config


@pytest.mark.parametrize("config, match", [
    ({"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 2}, "must be smaller than strides"),
    ({"filters": 2, "kernel_size": 3, "output_padding": -1}, "expected output_padding to be a non-negative int or"),
    ({"filters": 2, "kernel_size": 3, "padding": "causal"}, "expected padding to be one of 'valid', 'same'"),
])
def test_bad_arguments_name_the_layer(config, match):
    with pytest.raises((ValueError, TypeError), match=match):
        layers.Conv2DTranspose(**config)


def test_impossible_geometry_names_the_op():
    with pytest.raises(ValueError, match="conv2d_transpose: no output size maps back"):
        ops.conv_transpose(np.ones((1, 4, 4, 1)), np.ones((4, 4, 1, 1)), strides=2, padding="same",
                           output_padding=0)

"""Conv2D / Conv1D / DepthwiseConv2D against scipy.signal.correlate, output shapes and bad arguments."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import correlate

from minigrad import initializers, layers
from minigrad.errors import ShapeError


def _same_pads(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def reference_conv2d(x, w, b, strides, padding, dilation, groups):
    """NHWC grouped conv from scipy.signal.correlate on a dilated kernel, then striding."""
    (sh, sw), (dh, dw) = strides, dilation
    kh, kw, cg, f = w.shape
    if padding == "same":
        pads = (_same_pads(x.shape[1], kh, sh, dh), _same_pads(x.shape[2], kw, sw, dw))
        x = np.pad(x, ((0, 0), *pads, (0, 0)))
    dilated = np.zeros((dh * (kh - 1) + 1, dw * (kw - 1) + 1, cg, f))
    dilated[::dh, ::dw] = w
    fg = f // groups
    out = []
    for n in range(x.shape[0]):
        maps = []
        for j in range(f):
            g = j // fg
            xs = x[n, :, :, g * cg:(g + 1) * cg]
            maps.append(correlate(xs, dilated[:, :, :, j], mode="valid")[:, :, 0])
        out.append(np.stack(maps, axis=-1))
    y = np.stack(out)[:, ::sh, ::sw]
    return y if b is None else y + b


@settings(max_examples=25)
@given(data=st.data())
def test_conv2d_matches_scipy_correlate(data) -> None:
    groups = data.draw(st.sampled_from([1, 2]), "groups")
    c, f = groups * data.draw(st.integers(1, 2)), groups * data.draw(st.integers(1, 2))
    k = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    strides = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    dilation = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    padding = data.draw(st.sampled_from(["valid", "same"]))
    fmt = data.draw(st.sampled_from(["channels_last", "channels_first"]))
    use_bias = data.draw(st.booleans())
    h, w_ = (d * (kk - 1) + 1 + data.draw(st.integers(0, 3)) for d, kk in zip(dilation, k))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, h, w_, c))
    kernel, bias = rng.standard_normal((*k, c // groups, f)), rng.standard_normal(f)
    layer = layers.Conv2D(f, k, strides=strides, padding=padding, data_format=fmt, dilation_rate=dilation,
                          groups=groups, use_bias=use_bias, dtype="float64")
    xin = x if fmt == "channels_last" else x.transpose(0, 3, 1, 2)
    layer.build_from(xin.shape)
    layer.set_weights([kernel, bias] if use_bias else [kernel])
    y = layer(xin).data
    want = reference_conv2d(x, kernel, bias if use_bias else None, strides, padding, dilation, groups)
    if fmt == "channels_first":
        want = want.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-10)
    assert y.shape[1:] == layer.compute_output_shape((None, *xin.shape[1:]))[1:]


@settings(max_examples=40)
@given(size=st.integers(1, 30), k=st.integers(1, 5), s=st.integers(1, 4), d=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]))
def test_output_size_formula(size, k, s, d, padding) -> None:
    layer = layers.Conv2D(1, (k, 1), strides=(s, 1), dilation_rate=(d, 1), padding=padding)
    expected = -(-size // s) if padding == "same" else (size - d * (k - 1) - 1) // s + 1
    if expected < 1:
        with pytest.raises(ShapeError, match="does not fit"):
            layer.compute_output_shape((None, size, 1, 1))
        return
    assert layer.compute_output_shape((None, size, 1, 1)) == (None, expected, 1, 1)
    assert layer(np.zeros((1, size, 1, 1), np.float32)).shape == (1, expected, 1, 1)


def test_known_sizes_from_the_reference() -> None:
    assert layers.Conv2D(1, 3).compute_output_shape((None, 5, 5, 1)) == (None, 3, 3, 1)
    assert layers.Conv2D(1, 5).compute_output_shape((None, 28, 28, 1)) == (None, 24, 24, 1)
    big = layers.Conv2D(96, 11, strides=4)
    assert big.compute_output_shape((None, 227, 227, 3)) == (None, 55, 55, 96)
    big.build_from((None, 227, 227, 3))
    assert big.count_params() == 11 * 11 * 3 * 96 + 96


def test_sobel_and_laplacian_filters_from_a_constant_initializer() -> None:
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    layer = layers.Conv2D(1, 3, use_bias=False, kernel_initializer=initializers.Constant(sobel_x[..., None, None]))
    image = np.zeros((1, 6, 6, 1), np.float32)
    image[:, :, 3:] = 1.0  # a vertical edge between columns 2 and 3
    response = layer(image).data[0, :, :, 0]
    assert (response[:, 1:3] == 4.0).all() and (response[:, [0, 3]] == 0).all()
    transposed = layers.Conv2D(1, 3, use_bias=False, kernel_initializer=initializers.Constant(sobel_x.T[..., None, None]))
    assert (transposed(image).data == 0).all()  # Sobel-Y ignores vertical edges
    laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)[..., None, None]
    flat = layers.Conv2D(1, 3, kernel_initializer=initializers.Constant(laplacian), bias_initializer="zeros")
    assert (flat(np.full((1, 5, 5, 1), 3.0, np.float32)).data == 0).all()
    with pytest.raises(ValueError, match=r"Constant initializer.*\(3, 3\).*\(3, 3, 2, 1\)"):
        layers.Conv2D(1, 3, kernel_initializer=initializers.Constant(sobel_x))(np.ones((1, 4, 4, 2)))


def test_depthwise_conv2d_convolves_each_channel_with_its_own_filters() -> None:
    rng = np.random.default_rng(3)
    x, dk, b = rng.standard_normal((2, 5, 5, 3)), rng.standard_normal((3, 3, 3, 2)), rng.standard_normal(6)
    layer = layers.DepthwiseConv2D(3, depth_multiplier=2, dtype="float64")
    layer.build_from(x.shape)
    layer.set_weights([dk, b])
    y = layer(x).data
    assert y.shape == (2, 3, 3, 6) and layer.count_params() == 3 * 3 * 3 * 2 + 6
    for c in range(3):
        for m in range(2):
            want = np.stack([correlate(x[n, :, :, c], dk[:, :, c, m], mode="valid") for n in range(2)])
            np.testing.assert_allclose(y[..., c * 2 + m], want + b[c * 2 + m], rtol=1e-10)


def test_conv1d_matches_numpy_and_causal_padding_looks_back_only() -> None:
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 8, 1)), rng.standard_normal((3, 1, 1))
    layer = layers.Conv1D(1, 3, use_bias=False, dtype="float64")
    layer.build_from(x.shape)
    layer.set_weights([w])
    np.testing.assert_allclose(layer(x).data[0, :, 0], np.correlate(x[0, :, 0], w[:, 0, 0], "valid"))
    causal = layers.Conv1D(2, 3, padding="causal", dilation_rate=2)
    a = causal(x).data
    x2 = x.copy()
    x2[0, 5:] += 10.0
    b = causal(x2).data
    assert a.shape == (1, 8, 2)
    np.testing.assert_array_equal(a[0, :5], b[0, :5])
    assert not np.allclose(a[0, 5:], b[0, 5:])


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_causal_conv1d_pads_virtually_even_for_a_dilation_of_2_31(data_format: str) -> None:
    # found by the fuzz harness: the left padding was materialised (a 32 GiB array for this case)
    x = np.random.default_rng(5).random((2, 5, 2)).astype(np.float32)
    if data_format == "channels_first":
        x = x.transpose(0, 2, 1).copy()
    layer = layers.Conv1D(2, 2, padding="causal", dilation_rate=2**31, data_format=data_format)
    y = layer(x).data
    # every output sees only its own input row: the other tap lies 2**31 steps back, in the padding
    tap = layer.kernel.data[1]
    rows = x if data_format == "channels_last" else x.transpose(0, 2, 1)
    expected = rows @ tap + layer.bias.data
    np.testing.assert_allclose(y if data_format == "channels_last" else y.transpose(0, 2, 1), expected,
                               rtol=1e-6)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(filters=0, kernel_size=3), ValueError, "filters"),
    (dict(filters=2.5, kernel_size=3), TypeError, "filters"),
    (dict(filters=2, kernel_size=0), ValueError, "kernel_size"),
    (dict(filters=2, kernel_size=(3,)), TypeError, "kernel_size"),
    (dict(filters=2, kernel_size="3"), TypeError, "kernel_size"),
    (dict(filters=2, kernel_size=3, strides=-1), ValueError, "strides"),
    (dict(filters=2, kernel_size=3, dilation_rate=(1, 0)), ValueError, "dilation_rate"),
    (dict(filters=2, kernel_size=3, padding="full"), ValueError, "padding"),
    (dict(filters=2, kernel_size=3, padding="causal"), ValueError, "padding"),
    (dict(filters=2, kernel_size=3, data_format="nhwc"), ValueError, "data_format"),
    (dict(filters=3, kernel_size=3, groups=2), ValueError, "divisible by groups"),
])
def test_bad_conv2d_arguments(kwargs, error, match) -> None:
    with pytest.raises(error, match=f"Conv2D.*{match}"):
        layers.Conv2D(**kwargs)


def test_bad_inputs_at_build() -> None:
    with pytest.raises(ShapeError, match=r"input channels \(3\).*groups \(2\)"):
        layers.Conv2D(4, 1, groups=2)(np.ones((1, 4, 4, 3)))
    with pytest.raises(ShapeError, match="does not fit"):
        layers.Conv2D(4, 5)(np.ones((1, 4, 4, 3)))
    with pytest.raises(ShapeError, match="rank 3"):
        layers.Conv1D(4, 2)(np.ones((1, 4, 4, 3)))
    with pytest.raises(ValueError, match="depth_multiplier"):
        layers.DepthwiseConv2D(3, depth_multiplier=0)


def test_conv2d_signature_matches_keras() -> None:
    import inspect

    params = inspect.signature(layers.Conv2D).parameters
    keras = dict(strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None)
    assert list(params)[:2] == ["filters", "kernel_size"]
    assert {k: params[k].default for k in keras} == keras
    layer = layers.Conv2D(8, 3, trainable=False)
    assert layer.data_format == "channels_last" and layer.kernel_size == (3, 3) and not layer.trainable


@pytest.mark.parametrize("channels", [3, 32])
def test_relu_activation_is_fused_and_matches_a_separate_relu(channels: int, monkeypatch) -> None:
    """Conv2D(activation='relu') runs one conv op with the relu fused, with the outputs and the
    gradients of conv followed by a ReLU layer (3 channels: im2col; 32: implicit GEMM)."""
    import minigrad.layers.conv as conv_module
    from minigrad.tensor import Tensor

    rng = np.random.default_rng(channels)
    x = rng.standard_normal((2, 7, 7, channels)).astype(np.float32)
    fused = layers.Conv2D(16, 3, padding="same", activation="relu")
    plain = layers.Conv2D(16, 3, padding="same")
    fused(x), plain(x)  # built
    plain.set_weights(fused.get_weights())
    calls: list[dict] = []
    real_apply = conv_module.apply
    monkeypatch.setattr(conv_module, "apply", lambda name, *args, **attrs: (
        calls.append({"op": name, **attrs}), real_apply(name, *args, **attrs))[1])
    results = []
    for y_of in (fused, lambda t: layers.ReLU()(plain(t))):
        inp = Tensor(x, requires_grad=True)
        y = y_of(inp)
        (y * y).sum().backward()
        model = fused if y_of is fused else plain
        results.append((y.data, inp.grad, model.kernel.grad, model.bias.grad))
    assert [(c["op"], c.get("activation")) for c in calls] == [("conv2d", "relu"), ("conv2d", None)]
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)

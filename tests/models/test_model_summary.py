"""summary() table, FLOPs and receptive fields of the reference CNN (REFERENCE.md)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, reject
from hypothesis import strategies as st

import minigrad
from minigrad import layers, models
from minigrad.errors import ShapeError


def reference_model(pooling: bool = True) -> models.Sequential:
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
    if pooling:
        model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    if pooling:
        model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def summary_text(model, **kwargs) -> list[str]:
    lines: list[str] = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def test_summary_matches_keras_numbers() -> None:
    lines = summary_text(reference_model())
    rows = [ln for ln in lines if ln.startswith(" ") and "(" in ln and "Layer (type)" not in ln]
    shapes = ["(None, 26, 26, 32)", "(None, 13, 13, 32)", "(None, 11, 11, 64)", "(None, 5, 5, 64)",
              "(None, 3, 3, 64)", "(None, 576)", "(None, 64)", "(None, 10)"]
    params = ["320", "0", "18,496", "0", "36,928", "0", "36,928", "650"]
    kinds = ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D", "Flatten", "Dense", "Dense"]
    assert len(rows) == 8
    for row, shape, count, kind in zip(rows, shapes, params, kinds):
        assert f"({kind})" in row and shape in row and row.split()[-1] == count
    assert "Total params: 93,322" in lines
    assert "Trainable params: 93,322" in lines
    assert "Non-trainable params: 0" in lines
    assert lines[0].startswith('Model: "')


def test_summary_default_prints_through_print(capsys: pytest.CaptureFixture[str]) -> None:
    reference_model().summary()
    assert "Total params: 93,322" in capsys.readouterr().out


def test_summary_columns_flops_and_receptive_field() -> None:
    lines = summary_text(reference_model(), show_flops=True, show_receptive_field=True)
    header = next(ln for ln in lines if "Layer (type)" in ln)
    assert "FLOPs" in header and "Receptive field" in header
    conv1 = next(ln for ln in lines if "(Conv2D)" in ln)
    # 26*26*32 outputs, each 9 multiply-adds (2 FLOPs) plus a bias add
    assert f"{26 * 26 * 32 * (2 * 9 + 1):,}" in conv1 and "3x3" in conv1
    last_conv = [ln for ln in lines if "(Conv2D)" in ln][-1]
    assert "18x18 (41.3%)" in last_conv
    dense = [ln for ln in lines if "(Dense)" in ln][-1]
    assert f"{2 * 64 * 10 + 10:,}" in dense


def test_receptive_fields_with_pooling_match_reference_table() -> None:
    rows = reference_model().receptive_fields()
    names = ["input", "conv2d", "max_pooling2d", "conv2d", "max_pooling2d", "conv2d"]
    sizes = [28, 26, 13, 11, 5, 3]
    seen = [18, 16, 8, 6, 3, 1]
    forward = [1, 3, 4, 8, 10, 18]
    assert len(rows) == 6
    for row, name, size, region, rf in zip(rows, names, sizes, seen, forward):
        assert row.layer.startswith(name)
        assert row.output_size == (size, size)
        assert row.seen_by_target == (region, region)
        assert row.receptive_field == (rf, rf)
    assert rows[-1].share == pytest.approx(324 / 784) and round(100 * rows[-1].share, 1) == 41.3


def test_receptive_fields_without_pooling_match_reference_table() -> None:
    rows = reference_model(pooling=False).receptive_fields()
    assert [r.output_size[0] for r in rows] == [28, 26, 24, 22]
    assert [r.seen_by_target[0] for r in rows] == [7, 5, 3, 1]
    assert rows[-1].receptive_field == (7, 7)
    assert rows[-1].share == pytest.approx(0.0625)


def test_receptive_fields_of_an_inner_target_and_dilation_and_stride() -> None:
    model = models.Sequential([
        layers.Conv2D(4, 3, dilation_rate=2, input_shape=(20, 20, 1)),   # effective kernel 5
        layers.Conv2D(4, 3, strides=2),
        layers.Conv2D(4, 3),
    ])
    rows = model.receptive_fields()
    assert [r.receptive_field[0] for r in rows] == [1, 5, 7, 11]
    inner = model.receptive_fields(target=rows[2].layer)
    assert [r.seen_by_target for r in inner] == [(7, 7), (3, 3), (1, 1), None]
    with pytest.raises(ValueError, match="target"):
        model.receptive_fields(target="no_such_layer")


def test_receptive_fields_need_a_spatial_layer_and_a_built_model() -> None:
    dense_only = models.Sequential([layers.Dense(3, input_shape=(4,))])
    with pytest.raises(ValueError, match="no convolution or pooling"):
        dense_only.receptive_fields()
    unbuilt = models.Sequential([layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="not built"):
        unbuilt.receptive_fields()
    with pytest.raises(ValueError, match="not built"):
        unbuilt.summary(print_fn=lambda line: None)


def test_conv_layers_alone_hold_55744_params() -> None:
    model = reference_model()
    conv = [l for l in model.layers if isinstance(l, layers.Conv2D)]
    assert sum(l.count_params() for l in conv) == 55_744
    assert model.count_params() == 93_322
    assert math.isclose(sum(w.data.size for w in model.trainable_weights), 93_322)


_layer_specs = st.lists(
    st.one_of(
        st.tuples(st.just("conv"), st.integers(1, 3), st.integers(1, 2), st.integers(1, 2)),
        st.tuples(st.just("pool"), st.integers(1, 3), st.integers(1, 2), st.just(1)),
    ),
    min_size=1, max_size=3,
)


@given(specs=_layer_specs)
@example(specs=[("pool", 1, 2, 1), ("conv", 3, 2, 2), ("conv", 3, 1, 2)])  # shrinks below a kernel
@example(specs=[("conv", 3, 2, 2), ("pool", 2, 2, 1), ("conv", 3, 1, 1)])
def test_receptive_field_equals_the_support_of_one_neurons_gradient(specs) -> None:
    """Backprop from one output neuron through all-ones kernels and average pooling: the input
    pixels with a non-zero gradient span exactly the receptive field the formulas give."""
    size = 24
    stack = []
    for kind, k, s, d in specs:
        if kind == "conv":
            stack.append(layers.Conv2D(1, k, strides=s, dilation_rate=d, use_bias=False,
                                       kernel_initializer="ones"))
        else:
            stack.append(layers.AveragePooling2D(k, strides=s))
    try:
        model = models.Sequential([layers.InputLayer(shape=(size, size, 1)), *stack])
    except ShapeError:  # the stack shrank the image below one kernel
        reject()
    x = minigrad.Tensor(np.ones((1, size, size, 1), np.float32), requires_grad=True)
    out = model(x)
    centre = out.shape[1] // 2
    out[0, centre, centre, 0].backward()
    rows, cols = np.nonzero(x.grad[0, :, :, 0])
    extent = (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    table = model.receptive_fields()
    assert table[-1].receptive_field == extent
    assert table[0].seen_by_target == extent


def test_flops_of_depthwise_and_global_pooling_layers() -> None:
    model = models.Sequential([
        layers.DepthwiseConv2D(3, depth_multiplier=2, input_shape=(6, 6, 4)),  # (None, 4, 4, 8)
        layers.GlobalAveragePooling2D(),
    ])
    lines = summary_text(model, show_flops=True)
    depthwise = next(ln for ln in lines if "(DepthwiseConv2D)" in ln)
    assert f"{4 * 4 * 8 * (2 * 9 + 1):,}" in depthwise.split()
    pooling = next(ln for ln in lines if "(GlobalAveragePooling2D)" in ln)
    assert pooling.split()[-1] == f"{4 * 4 * 8:,}"

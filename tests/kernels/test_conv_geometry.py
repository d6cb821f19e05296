"""Conv geometry at its edges: the reproducers of issue 11 pinned, and a fuzz of huge strides,
dilations and paddings (up to 2**40), odd kernels and every path forced in turn, compared exactly
(small integer data: every sum is exact in float32) with the index reference of kernels.reference;
Winograd's transforms are not exact in binary, so its results are compared within rounding."""
from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minigrad import layers, ops
from minigrad._ext import _conv
from minigrad.kernels import conv as K
from minigrad.kernels import reference as R

FORCED = (None, "direct", "implicit", "im2col", "winograd")
LEVELS = _conv.ISA_LEVELS[:_conv.ISA_LEVELS.index(_conv.CPU_ISA) + 1]  # what this CPU runs
HUGE = st.sampled_from([2**31 - 1, 2**31, 2**32 + 1, 2**40])
AXIS = st.one_of(st.integers(1, 3), HUGE, st.integers(1, 2**40))
PAD = st.one_of(st.integers(0, 3), HUGE, st.integers(0, 2**40))
FUZZ_EXAMPLES = 60 if os.environ.get("CI", "").lower() in ("1", "true", "yes") else 200


@contextmanager
def forced(path: str | None, isa: str | None = None):
    """Run by `path` (None: the default choice) with the kernels of `isa` (None: the best)."""
    previous, level = K.force_path(path), _conv.isa()
    _conv.select_isa(isa)
    try:
        yield
    finally:
        K.force_path(previous)
        _conv.select_isa(level)


def _axis(draw, size: int, kernel: int) -> tuple[int, int, int, int]:
    """(stride, dilation, pad_before, pad_after) along one axis, the output at most 4 long, or a
    kernel too large for the padded input (about 1 draw in 8)."""
    dilation = draw(AXIS) if kernel > 1 else draw(st.integers(1, 3))
    before, after = draw(PAD), draw(PAD)
    span = size + before + after - dilation * (kernel - 1) - 1  # (out - 1) * stride <= span
    stride = draw(AXIS)
    if span > 0:
        stride = max(stride, -(-span // 3))
    return stride, dilation, before, after


@st.composite
def geometries(draw) -> dict:
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    h, wd = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    c = draw(st.sampled_from([1, 3, 4, 8, 16]))  # whole vectors of every ISA level too
    f = draw(st.sampled_from([1, 3, 8, 16, 32]))
    (sh, dh, top, bottom), (sw, dw, left, right) = _axis(draw, h, kh), _axis(draw, wd, kw)
    return dict(x=(draw(st.integers(1, 3)), h, wd, c), w=(kh, kw, c, f), dtype=dtype,
                strides=(sh, sw), dilation=(dh, dw), padding=(top, bottom, left, right))


def _ints(shape: tuple, dtype, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-3, 4, shape).astype(dtype)


def _check_exact(case: dict) -> None:
    x, w = _ints(case["x"], case["dtype"], 1), _ints(case["w"], case["dtype"], 2)
    b = _ints(case["w"][3:], case["dtype"], 3)
    kw = {k: case[k] for k in ("strides", "dilation", "padding")}
    (n, h, wd, _), (kh, kwd, _, _) = case["x"], case["w"]
    pads = case["padding"] if not isinstance(case["padding"], str) else K.resolve_padding(
        case["padding"], (h, wd), (kh, kwd), case["strides"], case["dilation"])
    oh = (h + pads[0] + pads[1] - case["dilation"][0] * (kh - 1) - 1) // case["strides"][0] + 1
    ow = (wd + pads[2] + pads[3] - case["dilation"][1] * (kwd - 1) - 1) // case["strides"][1] + 1
    if oh < 1 or ow < 1:
        with pytest.raises(ValueError, match=r"conv2d: kernel .* does not fit the padded input"):
            K.conv2d_forward(x, w, b, **kw)
        return
    paths = K.plan("conv2d", x.shape, w.shape, x.dtype, **kw).paths
    y = K.conv2d_forward(x, w, b, **kw)
    _same(y, R.conv2d_forward(x, w, b, **kw), paths["forward"])
    dy = _ints(y.shape, case["dtype"], 4)
    got, want = K.conv2d_backward(dy, x, w, **kw), R.conv2d_backward(dy, x, w, **kw)
    for g, e, direction in zip(got, want, ("input_grad", "weight_grad", "weight_grad")):
        _same(g, e, paths[direction])


def _same(got: np.ndarray, want: np.ndarray, path: str) -> None:
    """Equal; within rounding for Winograd, whose transforms hold sixths and 24ths."""
    if path != "winograd":
        np.testing.assert_array_equal(got, want)
        return
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    tol = 1e-5 if got.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * scale)


REPRODUCERS = [  # issue 11: each segfaulted or returned wrong numbers
    dict(x=(1, 4, 4, 16), w=(2, 2, 16, 16), dtype=np.float32, strides=(1, 1),
         dilation=(1, 2**31 - 1), padding="same"),
    dict(x=(1, 3, 3, 16), w=(3, 3, 16, 16), dtype=np.float32, strides=(2**31 - 1, 1),
         dilation=(1, 1), padding=(0, 2**32, 0, 0)),
    dict(x=(1, 3, 3, 1), w=(2, 1, 1, 1), dtype=np.float64, strides=(2, 2**31 - 1),
         dilation=(1, 1), padding=(2, 1, 2, 0)),
    dict(x=(1, 4, 4, 1), w=(2, 2, 1, 1), dtype=np.float64, strides=(1, 2**31 - 1),
         dilation=(1, 1), padding=(0, 0, 0, 0)),
    dict(x=(2, 3, 5, 16), w=(3, 3, 16, 16), dtype=np.float32, strides=(2**40, 2**40),
         dilation=(2**40, 2), padding=(2**40, 2**40, 2**40, 3)),
]


@settings(max_examples=FUZZ_EXAMPLES)
@given(geometries(), st.sampled_from(FORCED), st.sampled_from(LEVELS))
@example(REPRODUCERS[0], None, LEVELS[-1])
@example(REPRODUCERS[1], "im2col", LEVELS[-1])
@example(REPRODUCERS[1], "implicit", LEVELS[-1])
@example(REPRODUCERS[2], "direct", LEVELS[-1])
@example(REPRODUCERS[3], None, LEVELS[0])
@example(REPRODUCERS[4], "implicit", LEVELS[-1])
def test_any_geometry_is_computed_exactly_or_refused(case: dict, path: str | None, isa: str) -> None:
    with forced(path, isa):
        _check_exact(case)


@st.composite
def winograd_geometries(draw) -> dict:
    """3x3, stride 1, dilation 1, C and F whole vectors: what the Winograd path serves (any size
    and padding, outputs not a multiple of 4 included: their last tiles are only partly stored)."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    item_lanes = _conv.lanes(np.dtype(dtype).itemsize)  # of the ISA level selected now
    h, wd = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
    c, f = item_lanes * draw(st.integers(1, 3)), item_lanes * draw(st.integers(1, 3))
    return dict(x=(draw(st.integers(1, 3)), h, wd, c), w=(3, 3, c, f), dtype=dtype,
                strides=(1, 1), dilation=(1, 1), padding=pads)


@settings(max_examples=FUZZ_EXAMPLES // 2)
@given(st.data(), st.sampled_from(LEVELS))
def test_winograd_paths_match_the_reference(data, isa: str) -> None:
    # every direction by Winograd; the input gradient falls back where a pad exceeds 2
    with forced("winograd", isa):
        case = data.draw(winograd_geometries())
        try:
            p = K.plan("conv2d", case["x"], case["w"], case["dtype"], padding=case["padding"])
        except ValueError:
            p = None  # the kernel does not fit the padded input: _check_exact expects the error
        if p is not None:
            assert p.paths["forward"] == p.paths["weight_grad"] == "winograd", p.reasons
            assert (p.paths["input_grad"] == "winograd") == (max(case["padding"]) <= 2), p.reasons
        _check_exact(case)


@pytest.mark.parametrize("isa", LEVELS)
def test_winograd_passes_of_one_image_match_the_reference(isa: str, monkeypatch) -> None:
    """A chunk of several images in passes of one (as large inputs run: their tiles fill L2)."""
    from minigrad.kernels import conv_plan, conv_winograd

    monkeypatch.setattr(conv_winograd, "_PASS_BYTES", 1)
    monkeypatch.setattr(conv_plan, "_plans", {})
    with forced("winograd", isa):
        lanes = _conv.lanes(4)
        case = dict(x=(5, 9, 7, lanes), w=(3, 3, lanes, 2 * lanes), dtype=np.float32,
                    strides=(1, 1), dilation=(1, 1), padding=(1, 2, 0, 1))
        p = K.plan("conv2d", case["x"], case["w"], np.float32, padding=case["padding"])
        assert p.chunk > 1 and p.c.fields()["wino_images"] == 1
        assert set(p.paths.values()) == {"winograd"}
        _check_exact(case)


@pytest.mark.parametrize("isa", LEVELS)
@pytest.mark.parametrize("path", FORCED)
@pytest.mark.parametrize("case", REPRODUCERS)
def test_the_reproducers_on_every_path_and_isa_level(case: dict, path: str | None, isa: str) -> None:
    with forced(path, isa):
        _check_exact(case)


def test_the_layer_and_op_reproducers_run_and_match_the_reference() -> None:
    x = np.ones((1, 4, 4, 16), "f")
    layers.Conv2D(16, 2, padding="same")(x)
    layer = layers.Conv2D(16, 2, padding="same", dilation_rate=(1, 2**31 - 1))
    y = layer(x).data
    want = R.conv2d_forward(x, layer.kernel.data, layer.bias.data, padding="same",
                            dilation=(1, 2**31 - 1))
    np.testing.assert_allclose(y, want, rtol=1e-6)
    y = ops.apply("conv2d", np.ones((1, 3, 3, 16), "f"), np.ones((3, 3, 16, 16), "f"),
                  strides=(2**31 - 1, 1), padding=((0, 2**32), (0, 0)))
    np.testing.assert_array_equal(y.data, np.full((1, 3, 1, 16), [[[144]], [[0]], [[0]]], "f"))
    x = np.ones((1, 4, 4, 1))
    dy = np.ones((1, 3, 1, 1))
    _, dw, _ = K.conv2d_backward(dy, x, np.ones((2, 2, 1, 1)), strides=(1, 2**31 - 1))
    np.testing.assert_array_equal(dw.ravel(), [3, 3, 3, 3])


def test_a_saved_model_with_a_huge_stride_predicts(tmp_path) -> None:
    from minigrad import Sequential, load_model

    model = Sequential([layers.Input((4, 4, 1)), layers.Conv2D(1, 2, strides=(1, 2**31 - 1))])
    path = tmp_path / "huge.keras"
    model.save(path)
    loaded = load_model(path)
    x = np.ones((2, 4, 4, 1), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_geometry_that_cannot_be_served_is_refused_naming_the_argument() -> None:
    x, w = np.ones((1, 3, 3, 1), "f"), np.ones((1, 1, 1, 1), "f")
    with pytest.raises(ValueError, match=r"conv2d: the output would hold \d+ elements .* beyond "
                                         r"the addressable"):
        K.conv2d_forward(x, w, padding=(2**45, 0, 0, 0))
    with pytest.raises(ValueError, match=r"conv2d: padding must be in \[0, 2\*\*62\)"):
        K.conv2d_forward(x, w, padding=2**62)
    with pytest.raises(ValueError, match=r"conv2d: strides must be in \[1, 2\*\*62\)"):
        K.conv2d_forward(x, w, strides=(1, 2**64))
    with pytest.raises(ValueError, match=rf"conv2d: strides \(1, {2**61}\) too large"):
        K.conv2d_forward(np.ones((1, 3, 3, 8), "f"), np.ones((1, 1, 8, 1), "f"),
                         strides=(1, 2**61), padding=(0, 0, 0, 2**61))


@pytest.mark.parametrize("fn", [K.same_padding, K.conv_output_size])
def test_stride_zero_is_a_value_error_not_a_zero_division(fn) -> None:
    args = (4, 2, 0, 1) if fn is K.same_padding else (4, 2, 0, 1, 0, 0)
    with pytest.raises(ValueError, match="stride must be positive, received 0"):
        fn(*args)


def test_one_plan_per_geometry_shared_by_check_forward_and_backward() -> None:
    x, w = np.ones((2, 6, 6, 3)), np.ones((3, 3, 3, 4))
    before = len(K.plans())
    p = K.conv2d_plan(x, w, padding="same", strides=2)
    assert K.plan("conv2d", x.shape, w.shape, x.dtype, 2, "same") is p
    y = ops.apply("conv2d", x, w, padding="same", strides=2)
    K.conv2d_backward(np.ones(y.shape), x, w, padding="same", strides=2)
    assert len(K.plans()) <= before + 1
    fields = p.c.fields()
    assert (fields["pad_top"], fields["pad_bottom"], fields["OH"], fields["OW"]) == (0, 1, 3, 3)
    assert p.out_shape == y.shape and set(p.paths) == {"forward", "input_grad", "weight_grad"}

"""conv2d/conv1d kernels: forward vs scipy.signal.correlate, backward vs the NumPy twins and finite
differences, the known examples of REFERENCE.md, and every bad input the wrappers must refuse."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from scipy.signal import correlate

from minigrad._ext import _conv
from minigrad._ext._blas import gemm_rowmajor
from minigrad.kernels import conv as K
from minigrad.kernels import conv_plan as P
from minigrad.kernels import reference as R
from minigrad.threads import get_num_threads, set_num_threads

FORMATS = ("channels_last", "channels_first")


def _same(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def scipy_conv2d(x, w, b, strides, pads, dilation, groups):
    """NHWC conv from channel-summed 2-D scipy correlations, then strided (the test's own math)."""
    (sh, sw), (dh, dw) = strides, dilation
    top, bottom, left, right = pads
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    kh, kw, cg, f = w.shape
    wd = np.zeros((dh * (kh - 1) + 1, dw * (kw - 1) + 1, cg, f), w.dtype)
    wd[::dh, ::dw] = w  # a dilated kernel is the kernel with zeros between its taps
    oh = (xp.shape[1] - wd.shape[0]) // sh + 1
    ow = (xp.shape[2] - wd.shape[1]) // sw + 1
    y = np.zeros((x.shape[0], oh, ow, f), np.float64)
    fg = f // groups
    for n in range(x.shape[0]):
        for j in range(f):
            c0 = (j // fg) * cg
            acc = sum(correlate(xp[n, :, :, c0 + c].astype(np.float64), wd[:, :, c, j], mode="valid")
                      for c in range(cg))
            y[n, :, :, j] = acc[::sh, ::sw][:oh, :ow] + (b[j] if b is not None else 0)
    return y


@st.composite
def conv_configs(draw, rank: int = 2, implicit: bool = False):
    """Valid conv configurations: arrays and keyword arguments for the kernel wrappers.

    implicit: one group and channels/filters in whole 64-byte vectors, with more than 32 taps: the
    shapes the implicit GEMM kernels take (the reference CNN's 32->64 and 64->64 layers)."""
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    dims = 1 if rank == 1 else 2
    size = draw(st.lists(st.integers(1, 9), min_size=dims, max_size=dims))
    kernel = draw(st.lists(st.integers(1, 4), min_size=dims, max_size=dims))
    if implicit:
        lanes = 64 // np.dtype(dtype).itemsize
        groups = 1
        cg = draw(st.sampled_from([1, 2])) * lanes
        fg = draw(st.integers(1, 5)) * lanes  # 5 vectors: a block of 4 and one left over
        assume(int(np.prod(kernel)) * cg > 32)  # more taps than the direct kernels take
    else:
        groups = draw(st.sampled_from([1, 1, 2, 3]))
        cg, fg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    strides = tuple(draw(st.lists(st.integers(1, 3), min_size=dims, max_size=dims)))
    dilation = tuple(draw(st.lists(st.integers(1, 3), min_size=dims, max_size=dims)))
    padding = draw(st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 2),
                             st.tuples(*[st.integers(0, 2)] * (2 * dims))))
    fmt = draw(st.sampled_from(FORMATS))
    n = draw(st.integers(0, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = (n, *size, groups * cg) if fmt == "channels_last" else (n, groups * cg, *size)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((*kernel, cg, groups * fg)).astype(dtype)
    b = rng.standard_normal(groups * fg).astype(dtype) if draw(st.booleans()) else None
    if padding == "valid":
        pads = (0,) * 2 * dims
    elif padding == "same":
        pads = sum((_same(i, k, s, d) for i, k, s, d in zip(size, kernel, strides, dilation)), ())
    elif isinstance(padding, int):
        pads = (padding,) * 2 * dims
    else:
        pads = padding
    fits = all(i + pads[2 * a] + pads[2 * a + 1] >= d * (k - 1) + 1
               for a, (i, k, d) in enumerate(zip(size, kernel, dilation)))
    assume(fits)
    kwargs = dict(strides=strides, padding=padding, dilation=dilation, groups=groups, data_format=fmt)
    return x, w, b, kwargs, pads


def _tol(dtype) -> dict:
    return dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)


def _to_nhwc(a, fmt):
    return a if fmt == "channels_last" else np.moveaxis(a, 1, -1)


@given(conv_configs())
@example((np.ones((1, 5, 5, 1)), np.ones((3, 3, 1, 1)), None, dict(
    strides=(2, 2), padding="same", dilation=(1, 1), groups=1, data_format="channels_last"),
    (1, 1, 1, 1)))
def test_conv2d_forward_matches_scipy_correlate(config) -> None:
    x, w, b, kwargs, pads = config
    y = K.conv2d_forward(x, w, b, **kwargs)
    expected = scipy_conv2d(_to_nhwc(x, kwargs["data_format"]), w, b, kwargs["strides"], pads,
                            kwargs["dilation"], kwargs["groups"])
    assert y.dtype == x.dtype
    np.testing.assert_allclose(_to_nhwc(y, kwargs["data_format"]), expected, **_tol(x.dtype))


@given(conv_configs(), st.sampled_from([64, 1 << 16]))
def test_conv2d_backward_matches_reference(config, chunk_elements: int) -> None:
    x, w, b, kwargs, _ = config
    y = R.conv2d_forward(x, w, b, **kwargs)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)
    old, P._CHUNK_ELEMENTS = P._CHUNK_ELEMENTS, chunk_elements  # small chunks: many per thread
    P._plans.clear()
    try:
        got = K.conv2d_backward(dy, x, w, **kwargs)
    finally:
        P._CHUNK_ELEMENTS = old
        P._plans.clear()
    want = R.conv2d_backward(dy, x, w, **kwargs)
    for g, e in zip(got, want):
        assert g.shape == e.shape and g.dtype == x.dtype
        np.testing.assert_allclose(g, e, **_tol(x.dtype))


@given(conv_configs(rank=1))
def test_conv1d_forward_and_backward(config) -> None:
    x, w, b, kwargs, pads = config
    fmt = kwargs["data_format"]
    y = K.conv1d_forward(x, w, b, **kwargs)
    x2 = _to_nhwc(x, fmt)[:, None]
    expected = scipy_conv2d(x2, w[None], b, (1, *kwargs["strides"]), (0, 0, *pads),
                            (1, *kwargs["dilation"]), kwargs["groups"])[:, 0]
    np.testing.assert_allclose(_to_nhwc(y, fmt), expected, **_tol(x.dtype))
    dy = np.random.default_rng(2).standard_normal(y.shape).astype(x.dtype)
    for g, e in zip(K.conv1d_backward(dy, x, w, **kwargs), R.conv1d_backward(dy, x, w, **kwargs)):
        np.testing.assert_allclose(g, e, **_tol(x.dtype))


@given(conv_configs(implicit=True))
@example((np.ones((2, 13, 13, 32), np.float32), np.ones((3, 3, 32, 64), np.float32), None, dict(
    strides=(1, 1), padding="valid", dilation=(1, 1), groups=1, data_format="channels_last"),
    (0, 0, 0, 0)))
def test_implicit_gemm_kernels_match_the_twins(config) -> None:
    """Forward, dx and dw of the implicit GEMM against the NumPy twins (checked against scipy above)
    and against the im2col + BLAS kernels on the same call."""
    x, w, b, kwargs, _ = config
    y = K.conv2d_forward(x, w, b, **kwargs)
    np.testing.assert_allclose(y, R.conv2d_forward(x, w, b, **kwargs), **_tol(x.dtype))
    dy = np.random.default_rng(4).standard_normal(y.shape).astype(x.dtype)
    want = R.conv2d_backward(dy, x, w, **kwargs)
    for need_dw in (True, False):
        got = K.conv2d_backward(dy, x, w, need_dw=need_dw, **kwargs)
        for g, e in zip(got, want):
            if g is not None:
                np.testing.assert_allclose(g, e, **_tol(x.dtype))
    previous = K.force_path("im2col")
    try:
        blas = (K.conv2d_forward(x, w, b, **kwargs), *K.conv2d_backward(dy, x, w, **kwargs))
    finally:
        K.force_path(previous)
    for g, e in zip((y, *K.conv2d_backward(dy, x, w, **kwargs)), blas):
        np.testing.assert_allclose(g, e, **_tol(x.dtype))


def test_plan_names_the_kernels_that_run() -> None:
    def path(c: int, f: int, kernel: int, dtype=np.float32, groups: int = 1, size: int = 9) -> str:
        paths = K.plan("conv2d", (2, size, size, c), (kernel, kernel, c // groups, f), dtype,
                       padding="same", groups=groups).paths
        return paths["forward"]

    lanes = _conv.lanes(4)
    assert path(1, 32, 3) == "direct" and path(4, 8, 3) == "im2col"
    assert path(32, 64, 3, groups=2) == "im2col" and path(32, 60, 3) == "im2col"
    assert path(32, 64, 3) == "implicit" and path(lanes, 2 * lanes, 3) == "implicit"
    assert path(lanes, lanes, 32, size=40) == "implicit"  # 1,024 taps at most
    assert path(lanes, lanes, 33, size=40) == "im2col"
    previous = K.force_path("im2col")
    try:
        assert path(32, 64, 3) == "im2col" and path(1, 32, 3) == "im2col"
        p = K.plan("conv2d", (2, 9, 9, 32), (3, 3, 32, 64), np.float32)
        assert "forced" in p.reasons["forward"] and p.c.fields()["path_forward"] == 2
    finally:
        K.force_path(previous)
    previous = K.force_path("winograd")
    try:  # measured, never the rule's choice; 3x3 at stride 1
        assert path(32, 64, 3) == "winograd" and path(lanes, lanes, 3) == "winograd"
        assert path(32, 64, 5) == "implicit" and path(32, 60, 3) == "im2col"
        p = K.plan("conv2d", (2, 9, 9, 32), (3, 3, 32, 64), np.float32, padding="same")
        assert p.paths["weight_grad"] == p.paths["input_grad"] == "winograd"
        wide = K.plan("conv2d", (2, 9, 9, 32), (3, 3, 32, 64), np.float32, padding=(3, 3, 0, 0))
        assert wide.paths["weight_grad"] == "winograd" and wide.paths["input_grad"] == "implicit"
        assert "padding of at most 2" in wide.reasons["input_grad"]
        strided = K.plan("conv2d", (2, 9, 9, 32), (3, 3, 32, 64), np.float32, strides=2)
        assert strided.paths["forward"] == "implicit" and "stride 1" in strided.reasons["forward"]
    finally:
        K.force_path(previous)
    with pytest.raises(ValueError, match="force_path: expected path to be one of .direct., .*None, received"):
        K.force_path("fft")


@pytest.mark.parametrize("channels,filters,dtype", [(1, 20, np.float32), (4, 6, np.float64),
                                                    (32, 64, np.float32), (8, 24, np.float64)])
def test_fused_relu_is_relu_of_the_plain_conv(channels: int, filters: int, dtype) -> None:
    """Every path (direct, im2col, implicit) applies the fused relu to exactly its own output."""
    rng = np.random.default_rng(channels)
    x = rng.standard_normal((3, 7, 6, channels)).astype(dtype)
    x[0, 0, 0, 0] = np.nan  # NaN goes through relu, as in the relu op
    w = rng.standard_normal((3, 3, channels, filters)).astype(dtype)
    b = rng.standard_normal(filters).astype(dtype)
    for fmt in FORMATS:
        xs = x if fmt == "channels_last" else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        plain = K.conv2d_forward(xs, w, b, padding="same", data_format=fmt)
        fused = K.conv2d_forward(xs, w, b, padding="same", data_format=fmt, activation="relu")
        np.testing.assert_array_equal(fused, np.where(plain <= 0, 0, plain))
        assert np.isnan(fused).any()
    with pytest.raises(ValueError, match=r"conv2d: activation must be one of .* received 'tanh'"):
        K.conv2d_forward(x, w, b, activation="tanh")
    with pytest.raises(ValueError, match="conv1d: activation"):
        K.conv1d_forward(x[:, 0], w[0], b, activation="gelu")


@pytest.mark.parametrize("fmt", FORMATS)
def test_conv2d_backward_matches_finite_differences(fmt: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 6, 4) if fmt == "channels_last" else (2, 4, 5, 6))
    w, b = rng.standard_normal((3, 2, 2, 4)), rng.standard_normal(4)
    kwargs = dict(strides=(2, 1), padding="same", dilation=(1, 2), groups=2, data_format=fmt)
    dy = rng.standard_normal(K.conv2d_forward(x, w, b, **kwargs).shape)
    dx, dw, db = K.conv2d_backward(dy, x, w, **kwargs)
    for arr, grad in ((x, dx), (w, dw), (b, db)):
        numeric = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            keep = arr[idx]
            arr[idx] = keep + 1e-6
            up = np.sum(K.conv2d_forward(x, w, b, **kwargs) * dy)
            arr[idx] = keep - 1e-6
            down = np.sum(K.conv2d_forward(x, w, b, **kwargs) * dy)
            arr[idx] = keep
            numeric[idx] = (up - down) / 2e-6
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels,filters", [(1, 16), (3, 20), (2, 32), (1, 40), (4, 17), (5, 3)])
def test_direct_and_im2col_paths_match_scipy(dtype, channels: int, filters: int) -> None:
    """3x3 kernels with <= 32 taps take the direct kernels (forward and dw), 4 and 5 channels (36,
    45 taps) im2col; filters 17, 20, 40 leave a ragged block of 16."""
    rng = np.random.default_rng(channels * 100 + filters)
    x = rng.standard_normal((3, 9, 8, channels)).astype(dtype)
    w = rng.standard_normal((3, 3, channels, filters)).astype(dtype)
    b = rng.standard_normal(filters).astype(dtype)
    for strides, padding, dilation in [(1, "valid", 1), (2, "same", 1), ((1, 2), (2, 0, 1, 3), 2)]:
        y = K.conv2d_forward(x, w, b, strides=strides, padding=padding, dilation=dilation)
        s = (strides, strides) if isinstance(strides, int) else strides
        d = (dilation, dilation)
        pads = (padding if isinstance(padding, tuple) else (0, 0, 0, 0) if padding == "valid"
                else (*_same(9, 3, s[0], 1), *_same(8, 3, s[1], 1)))
        np.testing.assert_allclose(y, scipy_conv2d(x, w, b, s, pads, d, 1), **_tol(dtype))
        dy = rng.standard_normal(y.shape).astype(dtype)
        kwargs = dict(strides=strides, padding=padding, dilation=dilation)
        for need_dx in (False, True):
            got = K.conv2d_backward(dy, x, w, need_dx=need_dx, **kwargs)
            want = R.conv2d_backward(dy, x, w, **kwargs)
            for g, e in zip(got[1:], want[1:]):
                np.testing.assert_allclose(g, e, **_tol(dtype))
            assert (got[0] is None) == (not need_dx)


def test_sobel_x_finds_a_vertical_edge_and_laplacian_ignores_constants() -> None:
    image = np.zeros((1, 6, 6, 1))
    image[:, :, 3:] = 1.0  # dark left half, bright right half: a vertical edge between cols 2 and 3
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)[:, :, None, None]
    edges = K.conv2d_forward(image, sobel_x)[0, :, :, 0]
    np.testing.assert_array_equal(edges, np.tile([0.0, 4.0, 4.0, 0.0], (4, 1)))
    np.testing.assert_array_equal(K.conv2d_forward(image, sobel_x.transpose(1, 0, 2, 3)), 0.0)
    laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)[:, :, None, None]
    flat = np.full((2, 7, 7, 1), 0.37)
    np.testing.assert_allclose(K.conv2d_forward(flat, laplacian), 0.0, atol=1e-15)


def test_known_output_sizes() -> None:
    rng = np.random.default_rng(4)
    y = K.conv2d_forward(rng.random((1, 5, 5, 1)), rng.random((3, 3, 1, 1)))
    assert y.shape == (1, 3, 3, 1)
    y = K.conv2d_forward(rng.random((2, 28, 28, 1), np.float32), rng.random((5, 5, 1, 8), np.float32))
    assert y.shape == (2, 24, 24, 8) and y.shape[1] * y.shape[2] == 576
    assert K.conv_output_size(227, 11, 4, 1, 0, 0) == 55
    x, w = rng.random((1, 227, 227, 3), np.float32), rng.random((11, 11, 3, 96), np.float32)
    y = K.conv2d_forward(x, w, strides=4)  # the im2col example: [96 x 363] . [363 x 3025]
    assert y.shape == (1, 55, 55, 96)
    col = np.lib.stride_tricks.sliding_window_view(x[0], (11, 11, 3))[::4, ::4, 0]
    np.testing.assert_allclose(y[0], np.einsum("hwijc,ijcf->hwf", col, w), rtol=1e-4)


def test_same_padding_with_stride_puts_the_extra_pixel_bottom_right() -> None:
    assert K.same_padding(6, 3, 2, 1) == (0, 1) and K.same_padding(7, 3, 2, 1) == (1, 1)
    rng = np.random.default_rng(5)
    x, w = rng.random((2, 6, 6, 3)), rng.random((3, 3, 3, 4))
    y = K.conv2d_forward(x, w, strides=2, padding="same")
    assert y.shape == (2, 3, 3, 4)
    np.testing.assert_allclose(y, K.conv2d_forward(x, w, strides=2, padding=(0, 1, 0, 1)))


def test_depthwise_groups_equal_channels() -> None:
    rng = np.random.default_rng(6)
    x, w = rng.random((3, 8, 8, 5)), rng.random((3, 3, 1, 10))  # depth multiplier 2
    y = K.conv2d_forward(x, w, groups=5, padding="same")
    for c in range(5):
        for m in range(2):
            f = 2 * c + m
            ref = [correlate(np.pad(x[n, :, :, c], 1), w[:, :, 0, f], mode="valid") for n in range(3)]
            np.testing.assert_allclose(y[..., f], ref, rtol=1e-12)


def test_zero_batch_and_non_contiguous_input() -> None:
    rng = np.random.default_rng(7)
    w = rng.random((3, 3, 2, 4))
    y = K.conv2d_forward(np.zeros((0, 6, 6, 2)), w, rng.random(4))
    assert y.shape == (0, 4, 4, 4)
    dx, dw, db = K.conv2d_backward(np.zeros((0, 4, 4, 4)), np.zeros((0, 6, 6, 2)), w)
    assert dx.shape == (0, 6, 6, 2) and not dw.any() and not db.any()
    big = rng.random((3, 12, 14, 4))
    x = big[:, ::2, 1::2, 1:3]  # strided view, neither C- nor F-contiguous
    assert not x.flags.c_contiguous
    np.testing.assert_allclose(K.conv2d_forward(x, w), K.conv2d_forward(x.copy(), w), rtol=1e-14)
    dy = rng.random((3, 4, 5, 4))
    for g, e in zip(K.conv2d_backward(dy, x, w), K.conv2d_backward(dy, x.copy(), w)):
        np.testing.assert_allclose(g, e, rtol=1e-14)


def test_one_and_two_threads_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(P, "_CHUNK_ELEMENTS", 256)  # several chunks, so two threads really share
    monkeypatch.setattr(P, "_plans", {})
    rng = np.random.default_rng(8)
    x, w, dy = rng.random((5, 9, 9, 3)), rng.random((3, 3, 3, 6)), rng.random((5, 7, 7, 6))
    before = get_num_threads()
    try:
        results = []
        for n in (1, 2):
            set_num_threads(n)
            results.append((K.conv2d_forward(x, w), *K.conv2d_backward(dy, x, w)))
    finally:
        set_num_threads(before)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)])
def test_rowmajor_gemm(trans_a: bool, trans_b: bool) -> None:
    rng = np.random.default_rng(9)
    a, b = rng.random((4, 3) if not trans_a else (3, 4)), rng.random((3, 5) if not trans_b else (5, 3))
    for beta, c in ((0.5, rng.random((4, 5))), (0.0, np.full((4, 5), np.nan))):  # beta = 0: c unread
        expected = c.copy()
        R.gemm_rowmajor(a, b, expected, trans_a, trans_b, 2.0, beta)
        gemm_rowmajor(a, b, c, trans_a, trans_b, 2.0, beta)
        np.testing.assert_allclose(c, expected, rtol=1e-14)
    with pytest.raises(ValueError, match="inner sizes"):
        gemm_rowmajor(a, b, np.zeros((2, 2)), trans_a, trans_b)


BAD = [
    (dict(x=(1, 2, 2, 1), w=(3, 3, 1, 1)), ValueError, r"conv2d: kernel \(3, 3\).*output size \(0, 0\)"),
    (dict(x=(1, 5, 5, 1), w=(3, 3, 1, 1), strides=0), ValueError, r"conv2d: strides must be in \[1, 2\*\*62\)"),
    (dict(x=(1, 5, 5, 1), w=(3, 3, 1, 1), dilation=(1, -1)), ValueError, "conv2d: dilation must be"),
    (dict(x=(1, 5, 5, 4), w=(3, 3, 2, 3), groups=2), ValueError, r"filters \(3\) must be divisible"),
    (dict(x=(1, 5, 5, 4), w=(3, 3, 3, 2)), ValueError, "x has 4 channels"),
    (dict(x=(5, 5, 1), w=(3, 3, 1, 1)), ValueError, "conv2d: expected x of rank 4"),
    (dict(x=(1, 5, 5, 1), w=(0, 3, 1, 1)), ValueError, "kernel size, channels and filters must be"),
    (dict(x=(1, 5, 5, 1), w=(3, 3, 1, 1), padding="full"), ValueError, "padding must be 'valid'"),
    (dict(x=(1, 5, 5, 1), w=(3, 3, 1, 1), padding=-1), ValueError, r"padding must be in \[0, 2\*\*62\)"),
    (dict(x=(1, 5, 5, 1), w=(3, 3, 1, 1), groups=0), ValueError, "conv2d: expected groups to be a positive int, received 0"),
    (dict(x=(1, 5, 5, 1), w=(3, 3, 1, 1), data_format="NHWC"), ValueError, "expected data_format to be one of"),
    (dict(x=(1, 5, 5, 1), w=(3, 3, 1, 1), wdtype=np.float32), TypeError, "share a dtype"),
    (dict(x=(1, 5, 5, 1), w=(3, 3, 1, 1), xdtype=np.int64, wdtype=np.int64), TypeError, "float32 or"),
    (dict(x=(1, 5, 5, 1), w=(3, 3, 1, 1), b=(2,)), ValueError, r"expected bias of shape \(1,\)"),
]


@pytest.mark.parametrize("spec,error,message", BAD)
def test_bad_input_is_refused_with_a_clear_message(spec: dict, error: type, message: str) -> None:
    x = np.ones(spec["x"], spec.get("xdtype", np.float64))
    w = np.ones(spec["w"], spec.get("wdtype", np.float64))
    b = np.ones(spec["b"]) if "b" in spec else None
    kwargs = {k: spec[k] for k in ("strides", "dilation", "groups", "padding", "data_format") if k in spec}
    with pytest.raises(error, match=message):
        K.conv2d_forward(x, w, b, **kwargs)


def test_raw_kernel_refuses_arrays_its_plan_does_not_describe() -> None:
    x, w, y = np.ones((1, 5, 5, 2)), np.ones((3, 3, 2, 4)), np.empty((1, 3, 3, 4))
    p = K.plan("conv2d", x.shape, w.shape, x.dtype)
    ws = np.empty(p.workspace["forward"])
    fields = p.c.fields()
    with pytest.raises(ValueError, match="_conv.Plan: inconsistent fields"):
        _conv.Plan(**{**fields, "groups": 0})
    with pytest.raises(ValueError, match="_conv.Plan: inconsistent fields"):
        _conv.Plan(**{**fields, "Kg": 17})
    with pytest.raises(OverflowError):
        _conv.Plan(**{**fields, "pad_top": 2**63})
    with pytest.raises(ValueError, match=r"y has shape \(1, 3, 3, 5\), the plan expects"):
        _conv.conv2d_forward(p.c, x, w.ravel(), None, np.empty((1, 3, 3, 5)), ws)
    with pytest.raises(ValueError, match=r"w has shape"):
        _conv.conv2d_forward(p.c, x, w.ravel()[:-1], None, y, ws)
    if p.workspace["forward"] > 1:
        with pytest.raises(ValueError, match="workspace of 1 elements"):
            _conv.conv2d_forward(p.c, x, w.ravel(), None, y, ws[:1])


def test_bad_backward_and_conv1d_input() -> None:
    x, w = np.ones((2, 5, 5, 1)), np.ones((3, 3, 1, 2))
    with pytest.raises(ValueError, match=r"conv2d backward: expected dy of shape \(2, 3, 3, 2\)"):
        K.conv2d_backward(np.ones((2, 3, 3, 3)), x, w)
    with pytest.raises(ValueError, match="conv1d: expected x of rank 3"):
        K.conv1d_forward(x, w)
    with pytest.raises(ValueError, match=r"conv1d: kernel \(1, 9\).*output size \(1, -3\)"):
        K.conv1d_forward(np.ones((1, 5, 1)), np.ones((9, 1, 1)))


def test_conv2d_op_computes_only_the_gradients_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    from minigrad import Tensor, ops
    from minigrad.ops import convolution as conv_ops

    asked = []
    real = conv_ops.Conv2D.backward_kernel

    def spy(*args, **kwargs):
        asked.append((kwargs["need_dx"], kwargs["need_dw"], kwargs["need_db"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(conv_ops.Conv2D, "backward_kernel", staticmethod(spy))
    rng = np.random.default_rng(10)
    images = Tensor(rng.random((2, 6, 6, 1)))  # the first layer's input needs no gradient
    w, b = Tensor(rng.random((3, 3, 1, 4)), requires_grad=True), Tensor(np.zeros(4), requires_grad=True)
    y = ops.apply("conv2d", images, w, b, padding="same")
    y.sum().backward()
    assert asked == [(False, True, True)] and images.grad is None
    np.testing.assert_allclose(b.grad, np.full(4, 72.0))  # 2 images x 36 positions
    np.testing.assert_allclose(w.grad, R.conv2d_backward(np.ones(y.shape), images.data, w.data,
                                                         padding="same")[1])

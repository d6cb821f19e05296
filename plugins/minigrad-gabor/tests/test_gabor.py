"""minigrad-gabor's own tests: every component through minigrad's public checks, plus its math."""
import numpy as np
import pytest

import minigrad
from minigrad import activations, callbacks, constraints, initializers, layers, models, ops, regularizers
from minigrad.testing import check_layer, check_op, gradcheck
from minigrad_gabor.constraints import ZeroMean
from minigrad_gabor.initializers import Gabor
from minigrad_gabor.layers import GaborConv2D
from minigrad_gabor.regularizers import TotalVariation


def test_every_component_is_registered_by_its_entry_point():
    assert layers.get("gabor_conv2d") is GaborConv2D
    assert isinstance(initializers.get("gabor"), Gabor)
    assert isinstance(regularizers.get("total_variation"), TotalVariation)
    assert isinstance(constraints.get("zero_mean"), ZeroMean)
    assert callable(activations.get("mish")) and callbacks.get("weight_stats_logger").every == 1
    assert ops.get("soft_threshold").name == "soft_threshold"


def test_soft_threshold_passes_check_op():
    assert check_op("soft_threshold", examples=20).examples == 20


@pytest.mark.parametrize("config", [{}, {"frozen": False, "padding": "same", "strides": 2}])
def test_gabor_conv2d_passes_check_layer(config):
    layer = GaborConv2D(3, 3, **config)
    check_layer(layer, (2, 7, 7, 2), examples=2)


def test_gabor_filters_are_zero_mean_unit_norm_and_oriented():
    kernel = Gabor(orientations=2, wavelengths=[4.0])((7, 7, 1, 2), dtype="float64")
    np.testing.assert_allclose(kernel.sum(axis=(0, 1, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.sqrt((kernel**2).sum(axis=(0, 1, 2))), 1.0)
    stripes = np.cos(2 * np.pi * np.arange(7) / 4.0)
    vertical, horizontal = np.tile(stripes, (7, 1)), np.tile(stripes[:, None], (1, 7))
    # filter 0 (theta 0) oscillates along x: it answers vertical stripes; filter 1 (theta 90°) horizontal ones
    assert abs((kernel[:, :, 0, 0] * vertical).sum()) > 5 * abs((kernel[:, :, 0, 0] * horizontal).sum())
    assert abs((kernel[:, :, 0, 1] * horizontal).sum()) > 5 * abs((kernel[:, :, 0, 1] * vertical).sum())


@pytest.mark.parametrize("bad, message", [
    ({"wavelengths": [1.0]}, "Nyquist"), ({"orientations": 0}, "orientations"), ({"gamma": 0.0}, "gamma"),
])
def test_gabor_rejects_bad_arguments(bad, message):
    with pytest.raises(ValueError, match=message):
        Gabor(**bad)
    with pytest.raises(ValueError, match=r"kh, kw >= 3, received \(1, 1, 2, 4\)"):
        Gabor()((1, 1, 2, 4))


def test_total_variation_value_and_gradient():
    w = np.random.default_rng(0).normal(size=(3, 4, 2, 2))
    expected = 0.1 * (np.sum(np.diff(w, axis=0) ** 2) + np.sum(np.diff(w, axis=1) ** 2))
    assert np.isclose(TotalVariation(0.1)(minigrad.Tensor(w)).item(), expected)
    gradcheck(TotalVariation(0.1), w)
    with pytest.raises(ValueError, match="rank >= 2"):
        TotalVariation()(minigrad.Tensor(np.ones(3)))


def test_zero_mean_projects_each_output_unit():
    w = np.random.default_rng(1).normal(size=(3, 3, 2, 4)).astype("float32")
    projected = ZeroMean()(w)
    assert projected.dtype == np.float32
    np.testing.assert_allclose(projected.mean(axis=(0, 1, 2)), 0.0, atol=1e-6)
    np.testing.assert_allclose(ZeroMean(axis=[0, 1])(w).mean(axis=(0, 1)), 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="out of range"):
        ZeroMean(axis=5)(w)


def test_weight_stats_logger_records_every_epoch():
    minigrad.set_seed(0)
    model = models.Sequential([layers.Dense(2, input_shape=(3,), activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    logger = callbacks.get("weight_stats_logger")
    model.fit(np.ones((4, 3), "float32"), np.array([0, 1, 0, 1]), epochs=2, verbose=0, callbacks=[logger])
    assert [(r["epoch"], r["weight"].rpartition("/")[2]) for r in logger.records] == [
        (0, "kernel"), (0, "bias"), (1, "kernel"), (1, "bias")]
    assert all(r["max_abs"] >= abs(r["mean"]) for r in logger.records)

"""Initializers: Keras fan rules and distributions, reproducibility, configs, constants, bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

import minigrad
from minigrad import initializers

NAMES = ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
         "random_normal", "random_uniform", "truncated_normal", "zeros", "ones", "constant", "orthogonal"]


def test_every_required_name_is_registered_and_round_trips() -> None:
    for name in NAMES:
        init = initializers.get(name)
        clone = initializers.deserialize(initializers.serialize(init))
        assert type(clone) is type(init) and clone.get_config() == init.get_config()
        values = init((3, 4), dtype="float64")
        assert values.shape == (3, 4) and values.dtype == np.float64


@pytest.mark.parametrize("shape, fans", [((), (1, 1)), ((5,), (5, 5)), ((3, 7), (3, 7)),
                                         ((3, 3, 32, 64), (9 * 32, 9 * 64)), ((5, 4, 6), (20, 30))])
def test_keras_fans(shape, fans) -> None:
    assert initializers.compute_fans(shape) == fans


@pytest.mark.parametrize("name, scale, mode", [
    ("glorot_uniform", 1.0, "fan_avg"), ("he_uniform", 2.0, "fan_in"), ("lecun_uniform", 1.0, "fan_in"),
])
def test_uniform_variance_scaling_limits(name, scale, mode) -> None:
    shape = (3, 3, 16, 32)
    fan_in, fan_out = 3 * 3 * 16, 3 * 3 * 32
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    limit = math.sqrt(3 * scale / n)
    w = initializers.get(name)(shape, dtype="float64")
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    assert w.var() == pytest.approx(scale / n, rel=0.1)


@pytest.mark.parametrize("name, scale, mode", [
    ("glorot_normal", 1.0, "fan_avg"), ("he_normal", 2.0, "fan_in"), ("lecun_normal", 1.0, "fan_in"),
])
def test_truncated_normal_variance_scaling(name, scale, mode) -> None:
    w = initializers.get(name)((200, 300), dtype="float64")
    n = {"fan_in": 200, "fan_avg": 250}[mode]
    stddev = math.sqrt(scale / n) / 0.87962566103423978
    assert np.abs(w).max() <= 2 * stddev  # truncated at two (pre-correction) standard deviations
    assert w.var() == pytest.approx(scale / n, rel=0.05)  # the correction restores the variance


def test_plain_distributions() -> None:
    w = initializers.RandomNormal(mean=1.0, stddev=0.5)((100, 100), dtype="float64")
    assert w.mean() == pytest.approx(1.0, abs=0.02) and w.std() == pytest.approx(0.5, rel=0.05)
    u = initializers.RandomUniform(-2.0, 3.0)((10000,))
    assert u.min() >= -2.0 and u.max() < 3.0 and u.dtype == np.float32
    t = initializers.TruncatedNormal(stddev=1.0)((10000,))
    assert np.abs(t).max() <= 2.0
    assert (initializers.get("zeros")((2, 2)) == 0).all() and (initializers.get("ones")((2,)) == 1).all()


def test_reproducible_under_set_seed_and_with_a_seed() -> None:
    minigrad.set_seed(5)
    a = initializers.get("glorot_uniform")((4, 4))
    minigrad.set_seed(5)
    assert (initializers.get("glorot_uniform")((4, 4)) == a).all()
    seeded = initializers.HeNormal(seed=3)
    assert (seeded((3, 3)) == seeded((3, 3))).all()  # a seeded initializer repeats, as in Keras 3
    assert initializers.deserialize(initializers.serialize(seeded)).seed == 3


def test_orthogonal_gives_orthonormal_rows_or_columns() -> None:
    tall = initializers.Orthogonal(gain=2.0)((6, 3), dtype="float64")
    np.testing.assert_allclose(tall.T @ tall, 4.0 * np.eye(3), atol=1e-12)
    wide = initializers.Orthogonal()((3, 6), dtype="float64")
    np.testing.assert_allclose(wide @ wide.T, np.eye(3), atol=1e-12)
    conv = initializers.Orthogonal()((2, 2, 3, 4), dtype="float64").reshape(12, 4)
    np.testing.assert_allclose(conv.T @ conv, np.eye(4), atol=1e-12)
    with pytest.raises(ValueError, match="rank >= 2"):
        initializers.Orthogonal()((3,))


def test_constant_scalar_and_array() -> None:
    sobel = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    init = initializers.Constant(sobel)
    np.testing.assert_array_equal(init((3, 3)), np.array(sobel, np.float32))
    assert initializers.deserialize(initializers.serialize(init)).get_config() == {"value": [
        [-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]}
    assert (initializers.Constant(0.5)((2, 3)) == 0.5).all()
    with pytest.raises(ValueError, match=r"\(3, 3\).*\(4, 4\)"):
        init((4, 4))
    with pytest.raises(ValueError, match="finite"):
        initializers.Constant(float("nan"))


@pytest.mark.parametrize("make, match", [
    (lambda: initializers.VarianceScaling(scale=0), "scale"),
    (lambda: initializers.VarianceScaling(mode="fan_middle"), "mode"),
    (lambda: initializers.VarianceScaling(distribution="cauchy"), "distribution"),
    (lambda: initializers.RandomNormal(stddev=-1), "stddev"),
    (lambda: initializers.RandomUniform(1, 0), "minval"),
    (lambda: initializers.GlorotUniform(seed=-1), "seed"),
])
def test_bad_arguments(make, match) -> None:
    with pytest.raises(ValueError, match=match):
        make()

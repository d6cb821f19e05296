"""Regularizer penalties and gradients; constraints hold after being applied; identifiers and configs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad import constraints, layers, regularizers
from minigrad.errors import UnknownNameError
from minigrad.testing import gradcheck

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
matrices = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5), elements=finite)


def _away_from_zero(a: np.ndarray) -> np.ndarray:
    """|x| has a kink at 0: finite differences need every element at least 0.05 away from it."""
    return np.where(np.abs(a) < 0.05, np.where(a >= 0, 0.05, -0.05), a)


def test_penalty_values_match_keras_formulas() -> None:
    w = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert regularizers.L1()(w).item() == pytest.approx(0.01 * 3.5)
    assert regularizers.L2(0.1)(w).item() == pytest.approx(0.1 * 5.25)
    assert regularizers.L1L2(l1=0.2, l2=0.3)(w).item() == pytest.approx(0.2 * 3.5 + 0.3 * 5.25)
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}  # Keras' documented
    # Keras 3's class defaults: a partial call penalizes only what it names
    assert regularizers.L1L2(l2=0.1).get_config() == {"l1": 0.0, "l2": 0.1}
    assert regularizers.l1_l2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.get(regularizers.L1L2).get_config() == {"l1": 0.0, "l2": 0.0}


def _orthogonal_reference(w: np.ndarray, factor: float, mode: str) -> float:
    w = w if mode == "rows" else w.T
    unit = w / np.sqrt(np.maximum((w * w).sum(axis=1, keepdims=True), 1e-12))
    product = unit @ unit.T
    n = w.shape[0]
    return factor * 0.5 * np.abs(product - np.diag(np.diag(product))).sum() / (n * (n - 1) / 2)


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer(mode) -> None:
    w = np.random.default_rng(0).standard_normal((4, 3))
    got = regularizers.OrthogonalRegularizer(0.1, mode)(w).item()
    assert got == pytest.approx(_orthogonal_reference(w, 0.1, mode))
    assert regularizers.OrthogonalRegularizer(1.0)(np.eye(3)).item() == pytest.approx(0.0)
    with pytest.raises(ValueError, match="2-D"):
        regularizers.OrthogonalRegularizer()(np.ones((2, 2, 2)))


@settings(max_examples=20)
@given(w=matrices, name=st.sampled_from(["l1", "l2", "l1_l2"]))
def test_penalty_gradients_match_finite_differences(w, name) -> None:
    gradcheck(regularizers.get(name), _away_from_zero(w), name=name)


@settings(max_examples=10)
@given(w=hnp.arrays(np.float64, (3, 4), elements=st.floats(0.2, 2.0)), mode=st.sampled_from(["rows", "columns"]))
def test_orthogonal_penalty_gradient(w, mode) -> None:
    # alternate signs keep the cosine similarities away from the |.| kink at 0
    w = w * np.array([1.0, -1.0, 1.0, 1.0])
    gradcheck(regularizers.OrthogonalRegularizer(0.5, mode), w, name=f"orthogonal_{mode}")


def test_regularizer_identifiers_and_configs() -> None:
    for name, cls in [("l1", regularizers.L1), ("l2", regularizers.L2), ("l1_l2", regularizers.L1L2),
                      ("L1L2", regularizers.L1L2), ("orthogonal_regularizer", regularizers.OrthogonalRegularizer)]:
        reg = regularizers.get(name)
        assert isinstance(reg, cls)
        assert regularizers.deserialize(regularizers.serialize(reg)).get_config() == reg.get_config()
    with pytest.raises(UnknownNameError, match="l1"):
        regularizers.get("l11")
    with pytest.raises(ValueError, match="l2"):
        regularizers.L2(-1.0)
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")


@settings(max_examples=25)
@given(w=matrices, max_value=st.floats(0.1, 3.0), axis=st.sampled_from([0, 1]))
def test_max_norm_holds(w, max_value, axis) -> None:
    out = constraints.MaxNorm(max_value, axis)(w)
    norms_before = np.sqrt((w * w).sum(axis=axis))
    norms = np.sqrt((out * out).sum(axis=axis))
    assert (norms <= max_value + 1e-6).all()
    small = norms_before <= max_value
    np.testing.assert_allclose(norms[small], norms_before[small], rtol=1e-5, atol=1e-6)


@settings(max_examples=25)
@given(w=matrices, axis=st.sampled_from([0, 1]))
def test_unit_norm_and_min_max_norm_hold(w, axis) -> None:
    nonzero = np.sqrt((w * w).sum(axis=axis)) > 0.1  # the 1e-7 epsilon is negligible there
    unit = constraints.UnitNorm(axis)(w)
    np.testing.assert_allclose(np.sqrt((unit * unit).sum(axis=axis))[nonzero], 1.0, rtol=1e-5)
    mm = constraints.MinMaxNorm(0.5, 1.5, rate=1.0, axis=axis)(w)
    norms = np.sqrt((mm * mm).sum(axis=axis))[nonzero]
    assert ((norms >= 0.5 - 1e-4) & (norms <= 1.5 + 1e-6)).all()
    assert (constraints.NonNeg()(w) >= 0).all()


def test_min_max_norm_rate_moves_part_of_the_way() -> None:
    w = np.array([[3.0], [4.0]])  # column norm 5
    out = constraints.MinMaxNorm(0.0, 1.0, rate=0.5)(w)
    assert np.linalg.norm(out) == pytest.approx(3.0, rel=1e-6)  # 0.5 * 1 + 0.5 * 5


def test_conv_kernel_max_norm_over_receptive_field_and_channels() -> None:
    w = np.random.default_rng(0).standard_normal((3, 3, 4, 5)).astype(np.float32) * 3
    out = constraints.MaxNorm(1.0, axis=[0, 1, 2])(w)
    assert out.dtype == np.float32 and out.shape == w.shape
    assert (np.sqrt((out ** 2).sum(axis=(0, 1, 2))) <= 1.0 + 1e-5).all()
    with pytest.raises(ValueError, match="out of range"):
        constraints.MaxNorm(axis=4)(w)


def test_constraint_identifiers_configs_and_bad_arguments() -> None:
    for name, cls in [("max_norm", constraints.MaxNorm), ("non_neg", constraints.NonNeg),
                      ("unit_norm", constraints.UnitNorm), ("min_max_norm", constraints.MinMaxNorm),
                      ("MaxNorm", constraints.MaxNorm)]:
        c = constraints.get(name)
        assert isinstance(c, cls)
        assert constraints.deserialize(constraints.serialize(c)).get_config() == c.get_config()
    assert constraints.MaxNorm(2, axis=[0, 1]).get_config() == {"max_value": 2.0, "axis": [0, 1]}
    with pytest.raises(UnknownNameError, match="non_neg"):
        constraints.get("nonneg_")
    with pytest.raises(ValueError, match="min_value"):
        constraints.MinMaxNorm(2.0, 1.0)
    with pytest.raises(ValueError, match="rate"):
        constraints.MinMaxNorm(rate=2.0)
    with pytest.raises(TypeError, match="axis"):
        constraints.UnitNorm(axis="rows")


def test_constraints_hold_after_training_steps() -> None:
    layer = layers.Dense(4, kernel_constraint=constraints.MaxNorm(0.5), bias_constraint="non_neg",
                         kernel_initializer="ones", dtype="float64")
    x = np.random.default_rng(1).standard_normal((8, 3))
    for _ in range(3):  # plain SGD steps, then the projection an optimizer applies
        loss = (layer(x) * -1.0).sum()
        loss.backward()
        for w in layer.trainable_weights:
            w.data -= 0.1 * w.grad
            w.grad = None
            w.apply_constraint()
        assert (np.linalg.norm(layer.kernel.data, axis=0) <= 0.5 + 1e-9).all()
        assert (layer.bias.data >= 0).all()


def test_constraints_and_penalties_in_model_fit() -> None:
    import minigrad
    from minigrad import models

    minigrad.set_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = models.Sequential([
        layers.Dense(8, activation="relu", input_shape=(5,), kernel_constraint=constraints.MaxNorm(0.3),
                     kernel_regularizer="l2", activity_regularizer=regularizers.L1(1e-3)),
        layers.Dense(1, activation="sigmoid", kernel_constraint="non_neg", bias_constraint="unit_norm"),
    ])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    first, second = model.layers
    assert (np.linalg.norm(first.kernel.data, axis=0) <= 0.3 + 1e-6).all()
    assert (second.kernel.data >= 0).all()
    assert np.linalg.norm(second.bias.data) == pytest.approx(1.0, rel=1e-5)
    assert len(model.losses) == 2  # the l2 kernel penalty and the activity penalty of the last batch

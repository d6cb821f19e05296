"""The Keras losses beyond crossentropy/MSE/MAE/Huber, and one formula for training and evaluation (B2)."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import Tensor, layers, losses, no_grad, ops
from minigrad.testing import gradcheck

EPS = 1e-7
RNG = np.random.default_rng(3)
P_TRUE = RNG.dirichlet(np.ones(4), size=5)
P_PRED = RNG.dirichlet(np.ones(4), size=5)
REG_TRUE = RNG.normal(size=(5, 3))
REG_PRED = RNG.normal(size=(5, 3))
SIGNS = RNG.choice([-1.0, 1.0], size=(5, 3))
ONE_HOT = np.eye(4)[RNG.integers(0, 4, 5)]


def _unit(a):
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), EPS)


# name, class, y_true, y_pred, NumPy per-sample formula (Keras 3's)
CASES = [
    ("kl_divergence", losses.KLDivergence, P_TRUE, P_PRED,
     lambda t, p: np.sum(np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1)), -1)),
    ("poisson", losses.Poisson, np.abs(REG_TRUE), np.abs(REG_PRED) + 0.1,
     lambda t, p: np.mean(p - t * np.log(p + EPS), -1)),
    ("mean_absolute_percentage_error", losses.MeanAbsolutePercentageError, REG_TRUE, REG_PRED,
     lambda t, p: 100 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), EPS)), -1)),
    ("mean_squared_logarithmic_error", losses.MeanSquaredLogarithmicError, np.abs(REG_TRUE), REG_PRED,
     lambda t, p: np.mean((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2, -1)),
    ("log_cosh", losses.LogCosh, REG_TRUE, REG_PRED * 30, lambda t, p: np.mean(np.log(np.cosh(p - t)), -1)),
    ("cosine_similarity", losses.CosineSimilarity, REG_TRUE, REG_PRED,
     lambda t, p: -np.sum(_unit(t) * _unit(p), -1)),
    ("hinge", losses.Hinge, SIGNS, REG_PRED, lambda t, p: np.mean(np.maximum(1 - t * p, 0), -1)),
    ("hinge_binary", losses.Hinge, (SIGNS + 1) / 2, REG_PRED, lambda t, p: np.mean(np.maximum(1 - t * p, 0), -1)),
    ("squared_hinge", losses.SquaredHinge, SIGNS, REG_PRED, lambda t, p: np.mean(np.maximum(1 - t * p, 0) ** 2, -1)),
    ("categorical_hinge", losses.CategoricalHinge, ONE_HOT, P_PRED * 3,
     lambda t, p: np.maximum(np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1, 0)),
]


@pytest.mark.parametrize("name, cls, y_true, y_pred, formula", CASES, ids=[c[0] for c in CASES])
def test_matches_the_keras_formula_with_weights_and_reductions(name, cls, y_true, y_pred, formula):
    if name == "hinge_binary":
        y_true = y_true.copy()
        formula_true = 2 * y_true - 1
    else:
        formula_true = y_true
    per = formula(formula_true, y_pred)
    np.testing.assert_allclose(cls()(y_true, y_pred).item(), per.mean(), rtol=1e-9)
    fn = getattr(losses, cls().name)
    np.testing.assert_allclose(fn(y_true, y_pred).numpy(), per, rtol=1e-9)
    w = np.arange(1.0, 6.0)
    np.testing.assert_allclose(cls()(y_true, y_pred, sample_weight=w).item(), (per * w).mean(), rtol=1e-9)
    np.testing.assert_allclose(cls(reduction="sum")(y_true, y_pred, sample_weight=w).item(), (per * w).sum(),
                               rtol=1e-9)
    np.testing.assert_allclose(cls(reduction="mean_with_sample_weight")(y_true, y_pred, sample_weight=w).item(),
                               (per * w).sum() / w.sum(), rtol=1e-9)
    loss = cls(name="custom", reduction="sum")
    again = losses.deserialize(losses.serialize(loss))
    assert type(again) is cls and again.get_config() == loss.get_config()
    assert losses.get(cls().name).__class__ is cls


@pytest.mark.parametrize("name", ["kl_divergence", "poisson", "mean_absolute_percentage_error",
                                  "mean_squared_logarithmic_error", "log_cosh", "cosine_similarity", "hinge",
                                  "squared_hinge", "categorical_hinge"])
@given(data=st.data())
def test_gradients_match_finite_differences(name, data):
    from minigrad.testing import strategies as S

    shape = data.draw(st.tuples(st.integers(1, 3), st.integers(2, 4)))
    y_pred = data.draw(S.distinct_arrays(shape, gap=0.05, low=0.1, high=0.9))  # off the hinge/max/clip kinks
    y_true = data.draw(S.arrays(shape, 0.05, 0.95))
    if "hinge" in name:
        y_true = np.where(y_true > 0.5, 1.0, -1.0)
        y_pred = y_pred * 0.5  # margins 1 - t*p stay away from 0
    if name == "mean_absolute_percentage_error":  # |y_true - y_pred| has its kink where they meet
        assume(np.abs(y_pred - y_true).min() > 0.02)  # hypothesis drew [[0.9, 0.95]] vs [[0.95, 0.95]]
    gradcheck(lambda p: losses.get(name)(y_true, p), y_pred)


def test_keras_aliases_resolve():
    for alias, cls in [("kld", losses.KLDivergence), ("mape", losses.MeanAbsolutePercentageError),
                       ("msle", losses.MeanSquaredLogarithmicError), ("logcosh", losses.LogCosh),
                       ("KLDivergence", losses.KLDivergence), ("CategoricalHinge", losses.CategoricalHinge)]:
        assert type(losses.get(alias)) is cls
    assert losses.MSE is losses.mean_squared_error and losses.KLD is losses.kl_divergence
    assert losses.CosineSimilarity(axis=0).get_config()["axis"] == 0


@pytest.mark.parametrize("loss, y_true, y_pred, match", [
    (losses.KLDivergence(), np.ones((2, 3)), np.ones((2, 4)), "KLDivergence: expected probabilities of shape"),
    (losses.Hinge(), np.ones((2, 3)), np.ones((3, 3)), "Hinge: expected labels"),
    (losses.CosineSimilarity(axis=3), np.ones((2, 3)), np.ones((2, 3)), "CosineSimilarity: axis 3 is out of range"),
    (losses.Poisson(), np.array(["a"]), np.ones(1), "Poisson: expected numeric labels"),
])
def test_bad_input_names_the_loss(loss, y_true, y_pred, match):
    with pytest.raises((ValueError, TypeError), match=match):
        loss(y_true, y_pred)


def test_bad_reduction_names_the_loss():
    with pytest.raises(ValueError, match="Poisson: expected reduction to be one of .*, received .average."):
        losses.Poisson(reduction="average")


def test_saturated_softmax_gives_one_loss_in_training_and_evaluation():
    """B2: Keras computes crossentropy from a softmax output's logits in fit and in evaluate alike."""
    mg.set_seed(0)
    model = mg.Sequential([layers.Input((3,)), layers.Dense(4, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    kernel = model.layers[-1].kernel
    kernel.data[...] = np.array([[40.0, -40, 0, 1], [-30, 30, 2, 0], [5, 5, -50, 0]], kernel.data.dtype)
    x = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], np.float32)
    y = np.eye(4, dtype=np.float32)[[1, 0, 2, 3]]
    logits = x @ kernel.data
    exact = np.mean(np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
                    - (logits * y).sum(1))
    training = losses.CategoricalCrossentropy()(y, model(x))
    with no_grad():
        inference = losses.CategoricalCrossentropy()(y, model(x))
    evaluated = model.evaluate(x, y, verbose=0)
    evaluated = evaluated[0] if isinstance(evaluated, (list, tuple)) else evaluated
    assert exact > 40  # far beyond the clipped formula's ceiling of -log(1e-7) = 16.1
    np.testing.assert_allclose([training.item(), inference.item(), evaluated], exact, rtol=1e-5)


def test_sigmoid_output_uses_its_logits_under_no_grad():
    z = Tensor(np.array([[30.0], [-25.0]]))
    y = np.array([[0.0], [1.0]])
    with no_grad():
        value = losses.BinaryCrossentropy()(y, ops.sigmoid(z)).item()
    np.testing.assert_allclose(value, np.mean([np.logaddexp(0, 30.0), np.logaddexp(0, 25.0)]), rtol=1e-12)
    sliced = ops.sigmoid(z)[:, :]  # a new array, not the sigmoid's output: Keras clips it too
    with no_grad():
        clipped = losses.BinaryCrossentropy()(y, sliced).item()
    assert clipped < value


def test_focal_and_overlap_losses_match_the_keras_documentation():
    y_true, y_pred = [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]
    np.testing.assert_allclose(losses.binary_focal_crossentropy(y_true, y_pred, gamma=2).numpy(), [0.330, 0.206],
                               atol=5e-4)
    masks = [[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]]
    preds = [[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]]
    np.testing.assert_allclose(losses.dice(masks, preds, axis=(1, 2, 3)).numpy(), [0.5, 0.75757575], rtol=1e-5)
    np.testing.assert_allclose(losses.dice(masks, preds).item(), 0.6164384, rtol=1e-5)
    np.testing.assert_allclose(losses.tversky(masks, preds).item(), losses.dice(masks, preds).item(), rtol=1e-6)


def test_focal_losses_match_numpy_with_balancing_smoothing_and_logits():
    z = RNG.normal(size=(5, 3))
    t = (RNG.uniform(size=(5, 3)) > 0.5).astype(float)
    ts = t * 0.8 + 0.1
    p = 1 / (1 + np.exp(-z))
    bce = np.logaddexp(0, z) - ts * z
    p_t = ts * p + (1 - ts) * (1 - p)
    expected = np.mean((ts * 0.3 + (1 - ts) * 0.7) * (1 - p_t) ** 1.5 * bce, -1).mean()
    loss = losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.3, gamma=1.5, from_logits=True,
                                          label_smoothing=0.2)
    np.testing.assert_allclose(loss(t, Tensor(z)).item(), expected, rtol=1e-10)
    onehot = np.eye(3)[[0, 2, 1, 1, 0]]
    q = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    expected = np.mean(np.sum(0.25 * (1 - q) ** 2 * -onehot * np.log(q), -1))
    np.testing.assert_allclose(losses.CategoricalFocalCrossentropy(from_logits=True)(onehot, Tensor(z)).item(),
                               expected, rtol=1e-10)
    for cls in (losses.BinaryFocalCrossentropy, losses.CategoricalFocalCrossentropy, losses.Dice, losses.Tversky):
        made = cls(name="x")
        assert losses.deserialize(losses.serialize(made)).get_config() == made.get_config()
    with pytest.raises(ValueError, match="CategoricalFocalCrossentropy: only axis=-1"):
        losses.CategoricalFocalCrossentropy(axis=1)
    gradcheck(lambda x: losses.BinaryFocalCrossentropy(apply_class_balancing=True)(t, ops.sigmoid(x)), z)
    gradcheck(lambda x: losses.Dice(axis=1)(t, ops.sigmoid(x)), z)


def test_sparse_crossentropy_ignore_class_averages_over_the_other_entries():
    z = RNG.normal(size=(2, 3, 4))
    labels = np.array([[0, 255, 3], [255, 1, 2]])
    log_p = z - np.log(np.exp(z).sum(-1, keepdims=True))
    keep = labels != 255
    picked = -np.take_along_axis(log_p, np.where(keep, labels, 0)[..., None], -1)[..., 0]
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=255)
    np.testing.assert_allclose(loss(labels, Tensor(z)).item(), picked[keep].mean(), rtol=1e-6)
    per = losses.sparse_categorical_crossentropy(labels, Tensor(z), from_logits=True, ignore_class=255).numpy()
    np.testing.assert_allclose(per, np.where(keep, picked, 0.0), rtol=1e-10)
    assert losses.deserialize(losses.serialize(loss)).get_config()["ignore_class"] == 255
    with pytest.raises(ValueError, match=r"SparseCategoricalCrossentropy: expected class labels in \[0, 3\]"):
        loss(np.array([[0, 7, 3], [255, 1, 2]]), Tensor(z))


class CustomMSE(losses.Loss):
    """The Keras guide's custom loss, verbatim but for the imports."""

    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor


def test_a_keras_guide_custom_loss_trains():
    x = RNG.normal(size=(16, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True).astype(np.float32)
    mg.set_seed(2)
    model = mg.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="adam", loss=CustomMSE())
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    pred = model.predict(x, verbose=0)
    expected = np.mean(np.mean((y - pred) ** 2, -1) + 0.1 * np.mean((0.5 - pred) ** 2, -1))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert ops.where(np.array([True, False]), 1.0, 0.0).dtype == np.float32

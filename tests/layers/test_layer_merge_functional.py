"""Keras' functional merge forms, the Dot layer, and the lowercase regularizer/constraint names."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import constraints, layers, regularizers
from minigrad.errors import ShapeError

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("fn, cls, numpy", [
    (layers.add, layers.Add, lambda a, b: a + b), (layers.subtract, layers.Subtract, lambda a, b: a - b),
    (layers.multiply, layers.Multiply, lambda a, b: a * b), (layers.average, layers.Average, lambda a, b: (a + b) / 2),
    (layers.maximum, layers.Maximum, np.maximum), (layers.minimum, layers.Minimum, np.minimum),
    (lambda xs: layers.concatenate(xs, axis=1), layers.Concatenate, lambda a, b: np.concatenate([a, b], 1)),
])
def test_functional_forms_build_the_layer_in_a_model(fn, cls, numpy):
    a, b = layers.Input((3,)), layers.Input((3,))
    out = fn([a, b])
    model = mg.Model(inputs=[a, b], outputs=out)
    assert any(type(layer) is cls for layer in model.layers)
    x1, x2 = RNG.normal(size=(4, 3)).astype(np.float32), RNG.normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict([x1, x2], verbose=0), numpy(x1, x2), rtol=1e-6)
    eager = fn([mg.Tensor(x1), mg.Tensor(x2)])
    np.testing.assert_allclose(eager.numpy(), numpy(x1, x2), rtol=1e-6)


@pytest.mark.parametrize("axes, normalize, s1, s2, expected", [
    (1, False, (4, 3), (4, 3), lambda a, b: np.sum(a * b, 1, keepdims=True)),
    (-1, True, (4, 3), (4, 3), lambda a, b: np.sum(a * b, 1, keepdims=True)
     / np.linalg.norm(a, axis=1, keepdims=True) / np.linalg.norm(b, axis=1, keepdims=True)),
    (2, False, (2, 4, 3), (2, 5, 3), lambda a, b: np.einsum("bnd,bmd->bnm", a, b)),
    ((1, 2), False, (2, 3, 4), (2, 5, 3), lambda a, b: np.einsum("bdn,bmd->bnm", a, b)),
])
def test_dot_is_keras_batch_dot(axes, normalize, s1, s2, expected):
    a, b = RNG.normal(size=s1), RNG.normal(size=s2)
    layer = layers.Dot(axes=axes, normalize=normalize)
    y = layer([mg.Tensor(a), mg.Tensor(b)])
    np.testing.assert_allclose(y.numpy(), expected(a, b), rtol=1e-5, atol=1e-6)  # the layer computes in float32
    assert layer.compute_output_shape([(None,) + s1[1:], (None,) + s2[1:]]) == (None,) + y.shape[1:]
    assert layers.Dot.from_config(layer.get_config()).get_config() == layer.get_config()
    assert layers.dot([mg.Tensor(a), mg.Tensor(b)], axes=axes, normalize=normalize).shape == y.shape


def test_dot_refuses_mismatched_axes_naming_the_layer():
    with pytest.raises(ShapeError, match="Dot 'dot.*differ in size"):
        layers.Dot(axes=1)([mg.Tensor(np.ones((2, 3))), mg.Tensor(np.ones((2, 4)))])
    with pytest.raises(TypeError, match="Dot '.*': expected axes to be an int or a tuple of 2 ints"):
        layers.Dot(axes="x")


def test_lowercase_regularizers_and_constraints_are_keras_classes():
    assert isinstance(regularizers.l2(1e-4), regularizers.L2) and regularizers.l2(1e-4).l2 == 1e-4
    assert isinstance(regularizers.l1(), regularizers.L1) and regularizers.l1_l2(l1=0.1).l1 == 0.1
    assert isinstance(regularizers.orthogonal_regularizer(0.1), regularizers.OrthogonalRegularizer)
    assert constraints.max_norm(3).max_value == 3 and isinstance(constraints.non_neg(), constraints.NonNeg)
    assert isinstance(constraints.unit_norm(axis=1), constraints.UnitNorm)
    assert constraints.min_max_norm(0.5, 2.0).get_config()["min_value"] == 0.5
    dense = layers.Dense(2, kernel_regularizer=regularizers.l2(0.01), kernel_constraint=constraints.max_norm(2.0))
    dense(np.ones((1, 3), np.float32))
    assert dense.kernel_regularizer.l2 == 0.01

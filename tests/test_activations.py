"""Activation functions by name: values vs NumPy/SciPy, Keras' general relu, registry, serialization."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from minigrad import activations
from minigrad.testing import gradcheck

X = np.array([[-3.0, -1.0, -0.2, 0.3, 1.5, 4.0]])
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
REFERENCES = {
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
    "gelu": lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2))),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "tanh": np.tanh,
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "swish": lambda x: x / (1 + np.exp(-x)),
    "softmax": lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True),
    "log_softmax": lambda x: x - np.log(np.exp(x).sum(axis=-1, keepdims=True)),
    "exponential": np.exp,
    "linear": lambda x: x,
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_values_match_references(name) -> None:
    np.testing.assert_allclose(activations.get(name)(X).data, REFERENCES[name](X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["softsign", "relu6", "softmax", "log_softmax", "exponential"])
def test_composed_activations_have_gradients(name) -> None:
    x = np.array([[-2.0, -0.7, 0.4, 1.3, 7.0]]) if name == "relu6" else X  # stay off relu6's kinks
    gradcheck(activations.get(name), x, name=name)


def test_keras_general_relu() -> None:
    x = np.array([-2.0, 0.4, 0.6, 3.0])
    y = activations.relu(x, negative_slope=0.5, max_value=2.0, threshold=0.5).data
    np.testing.assert_allclose(y, [-1.25, -0.05, 0.6, 2.0])
    gradcheck(lambda t: activations.relu(t, negative_slope=0.5, max_value=2.0, threshold=0.5), x, name="relu")

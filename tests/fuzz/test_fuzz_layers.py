"""Every built-in and plugin layer: constructor arguments and inputs mutated into hostile ones."""
from __future__ import annotations

import numpy as np
import pytest
from _harness import FUZZ, judge, mutated, worker  # noqa: F401 - worker is a fixture
from hypothesis import given
from hypothesis import strategies as st

from minigrad import layers

LAYERS = sorted(name for name in layers.registry.names()
                if getattr(layers.get(name), "example_input_shape", None) is not None)


def _inputs(shape) -> tuple:
    rng = np.random.default_rng(0)
    if isinstance(shape, list):  # merge layers take a list of inputs
        return ([rng.random(s, dtype=np.float32) for s in shape],)
    return (rng.random(shape, dtype=np.float32),)


@pytest.mark.parametrize("name", LAYERS)
@FUZZ
@given(data=st.data())
def test_layer_survives_hostile_arguments(worker, name: str, data: st.DataObject) -> None:  # noqa: F811
    cls = layers.get(name)
    inputs, attrs = data.draw(mutated(_inputs(cls.example_input_shape), dict(getattr(cls, "example_config", {}))))
    snake = layers.registry.name_of(cls)[0]
    op = getattr(cls, "op", None)  # a pooling layer's errors at call time come from (and name) its op
    judge(worker, {"target": "layer", "name": cls.__name__, "inputs": inputs, "attrs": attrs,
                   "also": (name, snake, op if isinstance(op, str) else "")})

"""Every registered op (plugin ones included) with valid inputs mutated into hostile ones."""
from __future__ import annotations

import pytest
from _harness import FUZZ, hostile_arrays, judge, mutated, worker  # noqa: F401 - worker is a fixture
from hypothesis import given
from hypothesis import strategies as st

from minigrad import ops

OPS = sorted(ops.registry.names())


@pytest.mark.parametrize("name", OPS)
@FUZZ
@given(data=st.data())
def test_op_survives_hostile_inputs(worker, name: str, data: st.DataObject) -> None:  # noqa: F811
    op = ops.get(name)
    try:
        inputs, attrs = data.draw(op.strategy(), label="valid")
    except NotImplementedError:  # no strategy: hostile arrays only
        inputs, attrs = data.draw(st.tuples(st.lists(hostile_arrays(), max_size=3).map(tuple), st.just({})))
    inputs, attrs = data.draw(mutated(inputs, attrs), label="mutated")
    judge(worker, {"target": "op", "name": name, "inputs": inputs, "attrs": attrs, "also": (type(op).__name__,)})

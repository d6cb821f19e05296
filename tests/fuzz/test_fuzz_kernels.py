"""Kernel wrappers outside conv (activation, pool, optim) with arguments built from their signatures."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
from _harness import FUZZ, hostile_value, judge, worker  # noqa: F401 - worker is a fixture
from hypothesis import given
from hypothesis import strategies as st

from minigrad.kernels import activation, optim, pool

KERNELS = [(module.__name__.rsplit(".", 1)[1], name) for module in (activation, pool, optim)
           for name in module.__all__ if name != "pool_geometry"]
SHAPES = {"pool": [(2, 4, 4, 3), (1, 5, 6, 2), (2, 3, 7)], "activation": [(2, 5), (3,), (2, 3, 4)], "optim": [(7,)]}
INT_ATTRS = {"pool_size": st.sampled_from([1, 2, 3, (2, 1)]), "strides": st.sampled_from([None, 1, 2, (1, 2)]),
             "axis": st.sampled_from([-1, 0, 1])}


@st.composite
def _arguments(draw: st.DrawFn, module_name: str, name: str) -> tuple[tuple, dict]:
    """Valid-looking arguments: float arrays of one shape for array parameters, small ints for sizes;
    then one or two of them replaced by hostile values."""
    fn = getattr({"activation": activation, "pool": pool, "optim": optim}[module_name], name)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    shape = draw(st.sampled_from(SHAPES[module_name]))
    rng = np.random.default_rng(draw(st.integers(0, 3)))
    inputs, attrs = [], {}
    for p in inspect.signature(fn).parameters.values():
        if p.name.startswith("_"):
            continue  # private switches of the wrapper itself
        if p.name == "labels":
            value = rng.integers(0, shape[-1], shape[0])
        elif p.name == "x_shape":
            value = shape
        elif p.name in INT_ATTRS:
            value = draw(INT_ATTRS[p.name])
        elif p.default is not inspect.Parameter.empty:
            value = p.default
        elif p.name in ("lr", "alpha", "momentum"):
            value = 0.1
        else:
            value = rng.normal(size=shape).astype(dtype)
        if draw(st.integers(0, 5)) == 0:
            value = draw(hostile_value())
        if p.kind is p.KEYWORD_ONLY or p.default is not inspect.Parameter.empty:
            attrs[p.name] = value
        else:
            inputs.append(value)
    return tuple(inputs), attrs


@pytest.mark.parametrize("module_name, name", KERNELS)
@FUZZ
@given(data=st.data())
def test_kernel_wrapper_survives_hostile_arguments(worker, module_name: str, name: str,  # noqa: F811
                                                   data: st.DataObject) -> None:
    inputs, attrs = data.draw(_arguments(module_name, name))
    op = name.removesuffix("_forward").removesuffix("_backward").removesuffix("_update")
    judge(worker, {"target": "kernel", "module": module_name, "name": name, "inputs": inputs, "attrs": attrs,
                   "also": (op, op.replace("_pool", "_pool2d"))})

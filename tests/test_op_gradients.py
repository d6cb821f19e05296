"""Registry-wide property tests: every registered differentiable op passes gradcheck on its own inputs."""
from functools import partial

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import Tensor, ops
from minigrad.testing import gradcheck

DIFFERENTIABLE = [n for n in ops.names() if ops.get(n).differentiable]


def test_every_differentiable_op_has_a_strategy():
    missing = []
    for name in DIFFERENTIABLE:
        try:
            ops.get(name).strategy()
        except NotImplementedError:
            missing.append(name)
    assert not missing, f"ops without an input strategy (so without a gradient check): {missing}"


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@given(data=st.data())
def test_gradient_matches_finite_differences(name: str, data: st.DataObject) -> None:
    inputs, attrs = data.draw(ops.get(name).strategy(), label="inputs, attrs")
    gradcheck(partial(ops.apply, name, **attrs), *inputs)


@pytest.mark.parametrize("name", [n for n in DIFFERENTIABLE if n != "cast"])  # cast sets its dtype
@given(data=st.data())
def test_float32_forward_matches_float64(name: str, data: st.DataObject) -> None:
    """The float32 path computes the same function (to float32 precision)."""
    inputs, attrs = data.draw(ops.get(name).strategy(), label="inputs, attrs")
    y64 = ops.apply(name, *inputs, **attrs).numpy()
    low = [x.astype(np.float32) if x.dtype == np.float64 else x for x in inputs]
    y32 = ops.apply(name, *low, **attrs)
    assert y32.dtype == np.float32 or y64.dtype.kind != "f"
    np.testing.assert_allclose(y32.numpy(), y64, rtol=2e-3, atol=2e-3)


@given(data=st.data())
def test_gradient_of_sum_is_ones(data):
    from minigrad.testing import strategies as S

    x = Tensor(data.draw(S.arrays()), requires_grad=True)
    x.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones_like(x.data))


@given(data=st.data())
def test_a_minus_a_has_zero_gradient(data):
    from minigrad.testing import strategies as S

    a = Tensor(data.draw(S.arrays(S.shapes(min_dims=1))), requires_grad=True)
    (a - a).sum().backward()
    np.testing.assert_array_equal(a.grad, np.zeros_like(a.data))


@given(data=st.data())
def test_broadcast_gradient_sums_over_broadcast_axes(data):
    from minigrad.testing import strategies as S

    sa, sb = data.draw(S.broadcastable_shapes())
    a = Tensor(data.draw(S.arrays(sa)), requires_grad=True)
    b = Tensor(data.draw(S.arrays(sb)), requires_grad=True)
    (a + b).sum().backward()
    out = np.broadcast_shapes(sa, sb)
    assert a.grad.shape == sa and b.grad.shape == sb
    np.testing.assert_allclose(a.grad, np.full(sa, np.prod(out) / max(np.prod(sa), 1)))

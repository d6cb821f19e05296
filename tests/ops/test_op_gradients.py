"""Every registered op (built-in or plugin) through the one op check, minigrad.testing.check_op: a
float64 gradcheck on its own strategy (full differences on small inputs, random directions on large
ones), forward vs its reference and the float32 forward vs the float64 one. Then autograd's invariants."""
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import Tensor, ops
from minigrad.testing import strategies as S
from minigrad.testing.checks import run_op_check

_PROFILE = settings()  # the hypothesis profile's budget: 15 examples under CI=true, 30 dev, 500 thorough
# a derandomized profile (CI) checks the same examples every run; otherwise each run explores new ones
SEED = None if _PROFILE.derandomize else random.randrange(2 ** 32)


@pytest.mark.parametrize("name", ops.names())
def test_every_registered_op_passes_check_op(name: str) -> None:
    # cast sets its output dtype: float32 inputs need not give float32
    report = run_op_check(name, examples=_PROFILE.max_examples, seed=SEED, float32=name != "cast")
    if report.skipped is not None:
        assert not ops.get(name).differentiable, f"{name}: {report.skipped}"
        return
    assert report.failure is None, f"{report.failure}\n(hypothesis seed {SEED})"
    assert report.examples >= 1  # fewer than asked when the strategy's space is exhausted


@given(data=st.data())
def test_gradient_of_sum_is_ones(data):
    x = Tensor(data.draw(S.arrays()), requires_grad=True)
    x.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones_like(x.data))


@given(data=st.data())
def test_a_minus_a_has_zero_gradient(data):
    a = Tensor(data.draw(S.arrays(S.shapes(min_dims=1))), requires_grad=True)
    (a - a).sum().backward()
    np.testing.assert_array_equal(a.grad, np.zeros_like(a.data))


@given(data=st.data())
def test_broadcast_gradient_sums_over_broadcast_axes(data):
    sa, sb = data.draw(S.broadcastable_shapes())
    a = Tensor(data.draw(S.arrays(sa)), requires_grad=True)
    b = Tensor(data.draw(S.arrays(sb)), requires_grad=True)
    (a + b).sum().backward()
    out = np.broadcast_shapes(sa, sb)
    assert a.grad.shape == sa and b.grad.shape == sb
    np.testing.assert_allclose(a.grad, np.full(sa, np.prod(out) / max(np.prod(sa), 1)))

"""The fused optimizer kernels against their NumPy twins (kernels.reference.optim): every option, both
dtypes, on buffers below and above the size at which the update is split across threads."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.kernels import optim as kernels
from minigrad.kernels import reference as R

SIZES = st.sampled_from([1, 7, 50_000])  # 50,000: above the parallel threshold, one span per thread
FRACTION = st.floats(0.0, 1.0)
# a momentum below float32's smallest subnormal is 0 to a float32 kernel, which then leaves the slot
# alone where Keras (deciding in Python) writes -lr*g into it; the weights agree either way
MOMENTUM = st.sampled_from([0.0, 0.5, 0.9]) | st.floats(1e-30, 1.0)
COMMON = dict(grad_scale=st.sampled_from([1.0]) | st.floats(0.1, 2.0),
              clip_value=st.sampled_from([0.0]) | st.floats(0.05, 1.0),
              weight_decay=st.sampled_from([0.0]) | st.floats(0.0, 0.5))


@st.composite
def updates(draw: st.DrawFn, name: str) -> tuple[list[np.ndarray | None], dict[str, Any]]:
    """(buffers, keyword arguments) of one call of kernel `name`, the slots in a reachable state.

    beta_2 stays >= 0.5 and rho >= 0.1: nearer 0, Keras' v += (g^2 - v)(1 - beta_2) cancels to the
    rounding of v, and the kernel (with FMA) and numpy round differently.
    """
    dtype, n = draw(st.sampled_from([np.float32, np.float64])), draw(SIZES)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    normal = lambda: rng.normal(size=n).astype(dtype)  # noqa: E731
    square = lambda: np.abs(normal())  # noqa: E731
    if name == "ema_update":
        return [normal(), normal()], dict(momentum=draw(FRACTION))
    kw: dict[str, Any] = {k: draw(s) for k, s in COMMON.items()}
    if name != "adam_update":
        kw["lr"] = draw(st.floats(1e-4, 0.5))
    w, g = normal(), normal()
    if name == "sgd_update":
        kw.update(momentum=draw(MOMENTUM), nesterov=draw(st.booleans()))
        return [w, g, normal() if kw["momentum"] else None], kw
    if name == "adagrad_update":
        return [w, g, square()], dict(kw, epsilon=draw(st.sampled_from([1e-7, 0.1])))
    if name == "adam_update":
        kw.update(alpha=draw(st.floats(1e-4, 0.5)), lr=draw(st.floats(0.0, 0.5)), beta_1=draw(st.floats(0.0, 0.99)),
                  beta_2=draw(st.floats(0.5, 0.9999)), amsgrad=draw(st.booleans()))
        return [w, g, normal(), square(), square() if kw["amsgrad"] else None], kw
    kw.update(rho=draw(st.floats(0.1, 0.99)), momentum=draw(MOMENTUM),
              centered=draw(st.booleans()))
    v = square()
    average = (np.sqrt(v) * rng.uniform(-0.5, 0.5, n)).astype(dtype)  # v >= a^2, as any history gives
    return [w, g, v, normal() if kw["momentum"] > 0 else None, average if kw["centered"] else None], kw


@pytest.fixture(scope="module", autouse=True)
def two_threads() -> Any:
    threads = minigrad.get_num_threads()
    minigrad.set_num_threads(2)
    yield
    minigrad.set_num_threads(threads)


@pytest.mark.parametrize("name", kernels.__all__)
@given(data=st.data())
def test_kernel_matches_its_twin(name: str, data: st.DataObject) -> None:
    buffers, kw = data.draw(updates(name))
    before = [None if b is None else b.copy() for b in buffers]
    twin_buffers = [None if b is None else b.copy() for b in buffers]
    getattr(kernels, name)(*buffers, **kw)
    getattr(R, name)(*twin_buffers, **kw)
    # to within a few roundings of the terms summed (w - lr*g/sqrt(v) may cancel to far below them)
    ulp = 1e-6 if buffers[0].dtype == np.float32 else 1e-14
    for i, (got, want, old) in enumerate(zip(buffers, twin_buffers, before)):
        if got is not None:
            scale = 1 + np.abs(old) + np.abs(want - old)
            np.testing.assert_array_less(np.abs(got - want), ulp * scale * 4, err_msg=f"{name}: buffer {i}")

"""Every ISA level of the dispatched kernel families this CPU runs (isa.h: the optimizer updates,
the elementwise activations, the pooling rows) gives the baseline level's result, up to the
rounding FMA contraction changes, for every kernel and every option that selects another loop."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from types import ModuleType

from minigrad._ext import ISA_LEVELS, _activation, _conv, _optim, _pool
from minigrad.kernels import activation as A
from minigrad.kernels import optim as K
from minigrad.kernels import pool as P

LEVELS = ISA_LEVELS[:min(ISA_LEVELS.index(_conv.CPU_ISA), ISA_LEVELS.index(_conv.BUILD_ISA)) + 1]
N = 1027  # not a multiple of any vector width: the loops' remainders run too
UPDATES: dict[str, Callable[..., None]] = {
    "sgd": lambda w, g, s: K.sgd_update(w, g, None, lr=0.1),
    "sgd nesterov": lambda w, g, s: K.sgd_update(w, g, s[0], lr=0.1, momentum=0.9, nesterov=True,
                                                 weight_decay=0.01, clip_value=0.5),
    "rmsprop": lambda w, g, s: K.rmsprop_update(w, g, s[0], None, None, lr=0.01, grad_scale=0.5),
    "rmsprop centered momentum": lambda w, g, s: K.rmsprop_update(w, g, s[0], s[1], s[2], lr=0.01,
                                                                  momentum=0.5, centered=True),
    "adam": lambda w, g, s: K.adam_update(w, g, s[0], s[1], None, alpha=0.01, weight_decay=0.1),
    "adam amsgrad": lambda w, g, s: K.adam_update(w, g, s[0], s[1], s[2], alpha=0.01, amsgrad=True),
    "adagrad": lambda w, g, s: K.adagrad_update(w, g, s[0], lr=0.1),
    "ema": lambda w, g, s: K.ema_update(w, g, 0.99),
}


ACTIVATIONS = {  # name -> (forward, backward from x and y)
    **{n: (getattr(A, f"{n}_forward"), lambda dy, x, y, n=n: getattr(A, f"{n}_backward")(dy, x))
       for n in ("relu", "leaky_relu", "elu", "selu", "gelu", "hard_sigmoid", "softplus", "silu")},
    "gelu tanh": (lambda x: A.gelu_forward(x, True), lambda dy, x, y: A.gelu_backward(dy, x, True)),
    "sigmoid": (A.sigmoid_forward, lambda dy, x, y: A.sigmoid_backward(dy, y)),
    "tanh": (A.tanh_forward, lambda dy, x, y: A.tanh_backward(dy, y)),
}


POOLS = {  # name -> (pool size, strides, padding, data format)
    "max 2x2": (2, None, "valid", "channels_last"), "max 3x3 same s1": (3, 1, "same", "channels_last"),
    "max 3x3 planes": (3, 2, "same", "channels_first"), "avg 3x3 same s1": (3, 1, "same", "channels_last"),
    "avg 2x2 planes": (2, None, "valid", "channels_first"),
}
FAMILIES = (_optim, _activation, _pool)


@pytest.fixture
def levels_restored() -> Iterator[None]:
    previous = [(m, m.isa()) for m in FAMILIES]
    yield
    for module, level in previous:
        module.select_isa(level)


def _update(name: str, dtype: type) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    w, g = rng.standard_normal(N).astype(dtype), rng.standard_normal(N).astype(dtype)
    slots = [np.abs(rng.standard_normal(N)).astype(dtype) for _ in range(3)]
    for _ in range(3):
        UPDATES[name](w, g, slots)
    return [w, *slots]


def _activate(name: str, dtype: type) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    x, dy = (rng.standard_normal(N).astype(dtype) * 4 for _ in range(2))
    forward, backward = ACTIVATIONS[name]
    y = forward(x)
    return [y, backward(dy, x, y)]


def _pool_run(name: str, dtype: type) -> list[np.ndarray]:
    size, strides, padding, data_format = POOLS[name]
    x = np.random.default_rng(0).standard_normal((2, 9, 11, 37)).astype(dtype)  # whole vector blocks + a tail at every level
    kw = {"strides": strides, "padding": padding, "data_format": data_format}
    if name.startswith("max"):
        y, argmax = P.max_pool2d_forward(x, size, **kw)
        return [y, np.asarray(argmax), P.max_pool2d_backward(y * 3, argmax, x.shape, size, **kw)]
    y = P.avg_pool2d_forward(x, size, **kw)
    return [y, P.avg_pool2d_backward(y * 3, x.shape, size, **kw)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("module, run, name", [(_optim, _update, n) for n in UPDATES]
                         + [(_activation, _activate, n) for n in ACTIVATIONS]
                         + [(_pool, _pool_run, n) for n in POOLS],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_level_matches_baseline(levels_restored: None, module: ModuleType, run: Callable,
                                      name: str, dtype: type) -> None:
    assert module.select_isa("baseline") == "baseline"
    want = run(name, dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for level in LEVELS[1:]:
        assert module.select_isa(level) == level
        for got, expected in zip(run(name, dtype), want):
            np.testing.assert_allclose(got, expected, rtol=tol, atol=tol, err_msg=f"{name} at {level}")


@pytest.mark.parametrize("module", FAMILIES, ids=lambda m: m.__name__)
def test_an_unknown_level_is_refused(module: ModuleType) -> None:
    with pytest.raises(ValueError, match=f"{module.__name__.rpartition('.')[2]}: ISA level must be one of"):
        module.select_isa("sse9")

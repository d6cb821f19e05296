"""Every ISA level of the optimizer updates this CPU runs (isa.h) gives the baseline level's result,
up to the rounding FMA contraction changes, for every option that selects another loop."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

from minigrad._ext import ISA_LEVELS, _conv, _optim
from minigrad.kernels import optim as K

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


@pytest.fixture
def level_restored() -> Iterator[None]:
    previous = _optim.isa()
    yield
    _optim.select_isa(previous)


def _run(level: str, name: str, dtype: type) -> list[np.ndarray]:
    assert _optim.select_isa(level) == level
    rng = np.random.default_rng(0)
    w, g = rng.standard_normal(N).astype(dtype), rng.standard_normal(N).astype(dtype)
    slots = [np.abs(rng.standard_normal(N)).astype(dtype) for _ in range(3)]
    for _ in range(3):
        UPDATES[name](w, g, slots)
    return [w, *slots]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", UPDATES)
def test_every_level_matches_baseline(level_restored: None, name: str, dtype: type) -> None:
    want = _run("baseline", name, dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for level in LEVELS[1:]:
        for got, expected in zip(_run(level, name, dtype), want):
            np.testing.assert_allclose(got, expected, rtol=tol, atol=tol, err_msg=f"{name} at {level}")


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="_optim: ISA level must be one of"):
        _optim.select_isa("sse9")

"""Conv kernel choice by measurement: the first call times the eligible paths, the choice persists
in the cache file (a tmp dir: see conftest), a second process reads it, and a malformed or hostile
file is ignored with a warning."""
from __future__ import annotations

import json

import numpy as np
import pytest

from minigrad.kernels import conv as K
from minigrad.kernels import conv_plan as P
from minigrad.kernels import conv_tune as T
from minigrad.kernels import reference as R


@pytest.fixture
def fresh(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """An empty cache dir, no plan or choice in memory: as a new process would start."""
    monkeypatch.setenv("MINIGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(P, "_plans", {})
    monkeypatch.setattr(T, "_choices", None)
    previous = K.force_path(None)
    yield tmp_path
    K.force_path(previous)


def _layer(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 9, 9, 16)).astype(np.float32)
    w = rng.standard_normal((3, 3, 16, 16)).astype(np.float32)
    return x, w, rng.standard_normal((4, 7, 7, 16)).astype(np.float32)


def _run(x, w, dy):
    return (K.conv2d_forward(x, w), *K.conv2d_backward(dy, x, w))


def test_first_call_measures_every_eligible_path_and_a_new_process_reads_the_choice(fresh) -> None:
    x, w, dy = _layer()
    got = _run(x, w, dy)
    p = K.plan("conv2d", x.shape, w.shape, x.dtype)
    for direction in P.DIRECTIONS:
        assert set(p.measured[direction]) == set(p.eligible[direction])
        assert p.reasons[direction].startswith("measured: ")
    saved = json.loads(T.cache_file().read_text())
    (choices,) = saved.values()
    assert list(choices.values()) == [p.paths]
    for g, e in zip(got, (R.conv2d_forward(x, w), *R.conv2d_backward(dy, x, w))):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4)
    P._plans.clear()
    T._choices = None  # a second process
    _run(x, w, dy)
    again = K.plan("conv2d", x.shape, w.shape, x.dtype)
    assert again is not p and again.paths == p.paths
    assert all(r.startswith("measured before") for r in again.reasons.values())


def test_a_forced_path_is_not_measured(fresh) -> None:
    x, w, dy = _layer()
    K.force_path("im2col")
    _run(x, w, dy)
    p = K.plan("conv2d", x.shape, w.shape, x.dtype)
    assert set(p.paths.values()) == {"im2col"} and not any(p.measured.values())
    assert not T.cache_file().exists()


@pytest.mark.parametrize("content", [
    b"\x00\xffnot json", b"[1, 2, 3]", b'{"k": 1}', b'{"k": {"g": "direct"}}' + b" " * (1 << 20),
])
def test_a_malformed_cache_file_is_ignored_with_a_warning(fresh, content: bytes) -> None:
    T.cache_file().write_bytes(content)
    x, w, dy = _layer(1)
    with pytest.warns(RuntimeWarning, match="ignoring the conv choice cache"):
        got = _run(x, w, dy)
    np.testing.assert_allclose(got[0], R.conv2d_forward(x, w), rtol=1e-4, atol=1e-4)


def test_a_hostile_entry_is_never_used(fresh) -> None:
    x, w, dy = _layer(2)
    p = K.plan("conv2d", x.shape, w.shape, x.dtype)
    geometry = T._geometry_key(p)
    T.cache_file().write_text(json.dumps({T._machine_key(): {
        geometry: {"forward": "__import__('os').system('false')", "weight_grad": ["im2col"],
                   "input_grad": "direct"}}}))  # not a path / not a str / not eligible for dx
    P._plans.clear()
    _run(x, w, dy)
    p = K.plan("conv2d", x.shape, w.shape, x.dtype)
    assert all(r.startswith("measured: ") for r in p.reasons.values())

"""Gradient-check failures an op author can act on, tested with a deliberately wrong op."""
from __future__ import annotations

import importlib.metadata
from functools import partial
from types import SimpleNamespace

import numpy as np
import pytest

from minigrad import ops
from minigrad.cli import main
from minigrad.errors import GradcheckError
from minigrad.ops import Op
from minigrad.testing import gradcheck
from minigrad.testing.gradcheck import DIRECTIONAL_ABOVE
from minigrad.testing.checks import run_op_check
from minigrad.testing.strategies import arrays, op_inputs


class WrongCube(Op):
    """y = x ** 3 with the backward of x ** 2 scaled: dy * 2 x^2 instead of dy * 3 x^2."""

    name = "wrong_cube"

    def forward(self, ctx, x):
        ctx.save(x)
        return x * x * x

    def backward(self, ctx, dy):
        (x,) = ctx.saved
        return (dy * 2 * x * x,)

    def strategy(self):
        return op_inputs(arrays(low=-2.0, high=2.0))


def _failure(x: np.ndarray) -> GradcheckError:
    with pytest.raises(GradcheckError) as info:
        gradcheck(partial(ops.apply, WrongCube()), x)
    return info.value


def test_the_report_names_the_element_both_derivatives_and_the_jacobian_entry():
    x = np.array([[0.5, -1.5, 1.0], [2.0, 0.25, -0.75]])
    error = _failure(x)
    message = str(error)
    where = (1, 0)  # the largest |error| = |x|^2 sits at x = 2.0
    assert "gradcheck 'wrong_cube': wrong gradient for input 0 (shape (2, 3)) at x0[1, 0] = 2\n" in message
    r = np.random.default_rng(0).uniform(0.5, 1.5, size=x.shape)  # gradcheck's seed=0 weights
    assert f"analytic {2 * 4 * r[where]:.10g} vs numeric " in message
    assert "Jacobian entry d out[1, 0] / d x0[1, 0] (unweighted; the output element where they differ " \
           "most): analytic 8 vs numeric 12" in message
    assert error.rel_error == pytest.approx(1 / 3, rel=1e-6)
    assert "relative error 0.333:" in message
    assert "np.float64" not in message


def test_a_failing_check_reports_its_own_error_with_the_example_first():
    report = run_op_check(WrongCube(), examples=5)
    assert report.failure.startswith("falsifying example:\ninput 0: shape ")
    assert report.failure.index("falsifying example") < report.failure.index("GradcheckError")
    assert report.worst_rel_error == pytest.approx(1 / 3, rel=1e-6)  # not the passing examples' ~1e-10


def test_minigrad_frames_are_hidden_from_pytest_tracebacks():
    error = _failure(np.array([1.0, 2.0]))
    frames, tb = [], error.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    ours = [f for f in frames if f.f_code.co_filename.endswith("testing/gradcheck.py")]
    assert len(ours) >= 2 and all(f.f_locals.get("__tracebackhide__") for f in ours)


class OffByOneElement(Op):
    """y = 2 x, but the backward is wrong at one element only (flat index 7)."""

    name = "off_by_one_element"

    def forward(self, ctx, x):
        return 2 * x

    def backward(self, ctx, dy):
        dx = 2 * dy
        dx.flat[7] *= 1.01
        return (dx,)


class Flat(Op):
    """y = 0 * x, with a backward of 9e-7 everywhere: each element within atol, their sum not."""

    name = "flat"

    def forward(self, ctx, x):
        return 0 * x

    def backward(self, ctx, dy):
        return (np.full(dy.shape, 9e-7),)


def test_large_inputs_go_directional_and_small_ones_full():
    big = np.random.default_rng(1).uniform(-1, 1, (DIRECTIONAL_ABOVE + 1,))
    assert gradcheck(partial(ops.apply, "tanh"), big).directional == 1
    assert gradcheck(partial(ops.apply, "tanh"), big[:DIRECTIONAL_ABOVE]).directional == 0
    report = gradcheck(partial(ops.apply, "multiply"), big, big[:1], mode="directional")
    assert report.directional == 2 and report.elements == DIRECTIONAL_ABOVE + 2
    assert report.max_rel_error < 1e-7
    with pytest.raises(ValueError, match="mode must be 'auto', 'full' or 'directional', received 'fast'"):
        gradcheck(partial(ops.apply, "tanh"), big, mode="fast")


def test_a_failed_direction_still_names_the_wrong_element():
    x = np.random.default_rng(2).uniform(0.5, 1.5, (6, 7))  # 42 elements: directional
    with pytest.raises(GradcheckError) as info:
        gradcheck(partial(ops.apply, OffByOneElement()), x)
    message = str(info.value)
    assert "wrong gradient for input 0 (shape (6, 7)) at x0[1, 0] = " in message  # flat index 7
    assert "along a random direction v (|v_i| in [0.5, 1.5]): d sum(out * r) / d x0 . v: analytic " in message
    assert "Jacobian entry d out[1, 0] / d x0[1, 0] (unweighted; the output element where they differ " \
           "most): analytic 2.02 vs numeric 2" in message
    assert info.value.rel_error == pytest.approx(0.01, rel=1e-5)  # the element's, not the direction's


def test_many_small_errors_fail_along_a_direction_though_no_element_does():
    x = np.random.default_rng(3).uniform(-1, 1, (400,))
    assert gradcheck(partial(ops.apply, Flat()), x[:20]).max_abs_error == pytest.approx(9e-7)
    with pytest.raises(GradcheckError, match=r"relative error \S+ along v: .* no single element exceeds"):
        gradcheck(partial(ops.apply, Flat()), x)


def _two_plugins_provide(name: str) -> None:
    eps = [importlib.metadata.EntryPoint(name, f"nowhere_{d}:X", "minigrad.ops")._for(
        SimpleNamespace(name=f"dist-{d}", version="1.0")) for d in "ab"]
    ops.registry.refresh(lambda group: [*importlib.metadata.entry_points(group=group), *eps])


def test_gradcheck_cli_on_a_name_in_conflict_gets_the_conflict_message():
    _two_plugins_provide("twice_op")
    try:
        with pytest.raises(SystemExit) as info:
            main(["gradcheck", "twice_op"])
    finally:
        ops.registry.refresh()
    message = str(info.value.code)
    assert "'twice_op' is ambiguous" in message and "neither" not in message
    assert "dist-a 1.0 and dist-b 1.0" in message and "'dist-a:twice_op'" in message

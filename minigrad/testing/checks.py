"""check_op and check_layer: the checks every op and layer passes, built-in or plugin.

Plugin authors call them from their own tests; minigrad's suite and `python -m minigrad gradcheck`
run them over every registered op and layer. Hypothesis is imported when a check runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np

from minigrad.errors import GradcheckError
from minigrad.testing.gradcheck import gradcheck

__all__ = ["CheckReport", "check_op", "check_layer", "run_op_check", "run_layer_check", "describe_example"]


@dataclass
class CheckReport:
    """Outcome of one op or layer check (the CLI prints one row per report)."""

    kind: str                     # "op" | "layer"
    name: str
    examples: int = 0             # hypothesis examples that ran to the end
    worst_rel_error: float = 0.0  # worst |analytic - numeric| / max(|numeric|, atol/rtol) seen;
    #                               on a failure, the failing example's (NaN if not a gradient error)
    seconds: float = 0.0
    failure: str | None = None    # what failed, with the falsifying example
    skipped: str | None = None    # why nothing was checked

    @property
    def passed(self) -> bool:
        return self.failure is None and self.skipped is None


def describe_example(inputs: Any, attrs: dict[str, Any] | None = None) -> str:
    """A compact, readable rendering of op inputs (shape, dtype, values) and attrs."""
    items = inputs if isinstance(inputs, (list, tuple)) else (inputs,)
    parts = []
    for i, x in enumerate(items):
        a = np.asarray(getattr(x, "data", x))
        if a.size <= 24:
            values = np.array2string(a, precision=6, separator=", ").replace("\n", "")
        else:  # the first values and the range say enough; the full array would flood the terminal
            head = np.array2string(a.ravel()[:8], precision=4, separator=", ")[:-1]
            values = f"{head}, ...] ({a.size} values in [{a.min():.4g}, {a.max():.4g}])"
        parts.append(f"input {i}: shape {a.shape} {a.dtype} = {values}")
    if attrs:  # numpy scalars as plain Python numbers: 0.5, not np.float64(0.5)
        parts.append("attrs: " + ", ".join(
            f"{k}={v.item() if isinstance(v, np.generic) else v!r}" for k, v in attrs.items()))
    return "\n".join(parts)


def hypothesis_settings(examples: int, seed: int | None) -> Callable[[Callable], Callable]:
    """Bounded, quiet settings; deterministic unless a seed picks other examples."""
    import hypothesis
    from hypothesis import HealthCheck, Phase, Verbosity, settings

    conf = settings(
        max_examples=examples, deadline=None, database=None, derandomize=seed is None,
        verbosity=Verbosity.quiet, print_blob=False,
        # the explain phase costs seconds per failure and its notes are not shown in a report
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )

    def decorate(test: Callable) -> Callable:
        test = conf(test)
        return hypothesis.seed(seed)(test) if seed is not None else test

    return decorate


@contextmanager
def kernel_threads(n: int | None) -> Iterator[None]:
    """Run the block with n kernel threads (None: unchanged), restoring the previous count."""
    from minigrad.threads import get_num_threads, set_num_threads

    previous = get_num_threads()
    if n is not None and n != previous:
        set_num_threads(n)
    try:
        yield
    finally:
        if n is not None and n != previous:
            set_num_threads(previous)


def run_hypothesis(kind: str, name: str, body: Callable[[Any], float | None], examples: int,
                   seed: int | None, threads: int | None = 1) -> CheckReport:
    """Run body(data) as a hypothesis property; collect examples, worst error and the falsifying example.

    threads=1 by default: checks call kernels thousands of times on tiny arrays, where starting
    OpenMP threads costs far more than the work (100x on a loaded machine).
    """
    from hypothesis import given
    from hypothesis import strategies as st

    report = CheckReport(kind, name)
    last: dict[str, Any] = {}

    @hypothesis_settings(examples, seed)
    @given(data=st.data())
    def prop(data: Any) -> None:
        last.clear()
        error = body(_Recorder(data, last))
        report.examples += 1
        if error is not None:
            report.worst_rel_error = max(report.worst_rel_error, error)

    start = time.perf_counter()
    try:
        with kernel_threads(threads):
            prop()
    except Exception as exc:  # noqa: BLE001 - any failure becomes the report's message
        # hypothesis replays the shrunk example last, so `last` holds the minimal falsifying input;
        # it comes first: the error refers to its inputs
        example = last.get("text", "(failed before an example was drawn)")
        report.failure = f"falsifying example:\n{example}\n{type(exc).__name__}: {exc}"
        report.examples = max(report.examples, 1)
        # the failing example's error, not the worst of the ones that passed (NaN: not a gradient)
        report.worst_rel_error = getattr(exc, "rel_error", float("nan"))
    report.seconds = time.perf_counter() - start
    return report


class _Recorder:
    """st.data() wrapper that remembers a readable form of what was drawn."""

    def __init__(self, data: Any, last: dict[str, Any]) -> None:
        self._data, self._last = data, last

    def draw(self, strategy: Any, describe: Callable[[Any], str] | None = None) -> Any:
        value = self._data.draw(strategy)
        self._last["text"] = describe(value) if describe else repr(value)
        return value


# ----- ops
def run_op_check(name_or_op: Any, *, examples: int = 20, seed: int | None = None, atol: float = 1e-6,
                 rtol: float = 1e-4, threads: int | None = 1, float32: bool = False) -> CheckReport:
    """check_op's checks, returning a report instead of raising (for the CLI and the suite)."""
    from minigrad import ops

    op = ops.get(name_or_op)
    label = op.name or type(op).__name__
    try:
        strategy = op.strategy()
    except NotImplementedError:
        if op.differentiable:
            return CheckReport("op", label, failure=f"{label}: differentiable but has no strategy()")
        return CheckReport("op", label, skipped="not differentiable and no strategy")

    def body(data: _Recorder) -> float | None:
        inputs, attrs = data.draw(strategy, lambda v: describe_example(*v))
        worst = None
        if op.differentiable:
            worst = gradcheck(partial(ops.apply, op, **attrs), *inputs, atol=atol, rtol=rtol,
                              name=label).max_rel_error
        expected = op.reference(*inputs, **attrs)
        if expected is not None or float32:
            actual = ops.apply(op, *inputs, **attrs).numpy()
        if expected is not None:
            np.testing.assert_allclose(actual, np.asarray(expected), rtol=1e-7, atol=1e-10,
                                       err_msg=f"{label}: forward differs from {label}.reference")
        if float32:
            _check_float32(op, label, inputs, attrs, actual)
        return worst

    return run_hypothesis("op", label, body, examples, seed, threads)


def _check_float32(op: Any, label: str, inputs: tuple, attrs: dict[str, Any], y64: np.ndarray) -> None:
    """The float32 path computes the same function as float64, to float32 precision, in float32."""
    from minigrad import ops

    low = [x.astype(np.float32) if x.dtype == np.float64 else x for x in inputs]
    y32 = ops.apply(op, *low, **attrs)
    if y64.dtype.kind == "f" and y32.dtype != np.float32:
        raise AssertionError(f"{label}: float32 inputs gave a {y32.dtype} output")
    np.testing.assert_allclose(y32.numpy(), y64, rtol=2e-3, atol=2e-3,
                               err_msg=f"{label}: the float32 forward differs from the float64 one")


def check_op(name_or_op: Any, *, examples: int = 20, seed: int | None = None, atol: float = 1e-6,
             rtol: float = 1e-4, threads: int | None = 1, float32: bool = False) -> CheckReport:
    """Property-test an op: float64 gradcheck on op.strategy() (full differences on small inputs,
    random directions on large ones) and forward vs op.reference; float32=True also compares the
    float32 forward with the float64 one.

    Raises GradcheckError naming the op and the falsifying example; returns the report when it passes.
    """
    __tracebackhide__ = True  # pytest shows the caller's line and this report, not minigrad's frames
    report = run_op_check(name_or_op, examples=examples, seed=seed, atol=atol, rtol=rtol, threads=threads,
                          float32=float32)
    if report.failure is not None:
        raise GradcheckError(f"check_op '{report.name}' failed after {report.examples} example(s):\n"
                             f"{report.failure}")
    return report


def check_layer(layer: Any, input_shape: Any = None, *, examples: int = 3, seed: int | None = None,
                gradients: bool = True, threads: int | None = 1) -> CheckReport:
    """Check a layer class or instance: config and registry round trips, build, output shape,
    weight count, one training step (trainable weights change, frozen ones do not), weights reloaded
    into a rebuilt layer, save_model/load_model of a Model holding it (registered layers), and a
    float64 gradient check of inputs and trainable weights on tiny inputs.

    input_shape includes a small batch axis, e.g. (2, 6, 6, 3); it defaults to the class's
    `example_input_shape` (see docs/CONTRACTS.md). Raises GradcheckError or AssertionError.
    """
    __tracebackhide__ = True
    from minigrad.testing import _layer_checks

    report = _layer_checks.run_layer_check(layer, input_shape, examples=examples, seed=seed,
                                           gradients=gradients, threads=threads)
    if report.skipped is not None:
        raise AssertionError(f"check_layer '{report.name}': nothing checked: {report.skipped}")
    if report.failure is not None:
        raise GradcheckError(f"check_layer '{report.name}' failed: {report.failure}")
    return report


def run_layer_check(layer: Any, input_shape: Any = None, *, examples: int = 3, seed: int | None = None,
                    gradients: bool = True, threads: int | None = 1) -> CheckReport:
    """check_layer's checks, returning a report instead of raising (for the CLI)."""
    from minigrad.testing import _layer_checks

    return _layer_checks.run_layer_check(layer, input_shape, examples=examples, seed=seed,
                                         gradients=gradients, threads=threads)

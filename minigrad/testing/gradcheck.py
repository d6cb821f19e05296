"""Central finite differences in float64 against autograd: every Jacobian entry of a small input,
random directions (v . J^T u) for a large one."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np

from minigrad.errors import GradcheckError
from minigrad.tensor import Tensor

__all__ = ["gradcheck", "GradcheckReport", "DIRECTIONAL_ABOVE"]

# mode="auto": inputs with more elements are checked along random directions (2 evaluations each)
# instead of element by element (2 per element); below it full differences cost little
DIRECTIONAL_ABOVE = 32
_DIRECTIONS = 2  # a second direction makes two wrong elements cancelling out improbable
Mode = Literal["auto", "full", "directional"]


@dataclass(frozen=True)
class GradcheckReport:
    """What a passing gradcheck compared."""

    name: str
    elements: int           # differentiated input elements
    max_abs_error: float
    max_rel_error: float    # |analytic - numeric| / max(|numeric|, atol/rtol)
    directional: int = 0    # inputs checked along random directions rather than element by element


@dataclass
class Target:
    """One differentiated array: changed in place by the nudges, its analytic gradient, its names."""

    what: str               # "input 0", "weight 'dense/kernel'"
    symbol: str             # "x0", "kernel": how the report writes its elements
    values: np.ndarray
    analytic: np.ndarray


@dataclass
class Problem:
    """What compare() needs: the targets, fn's outputs at their current values (a float64 copy), and
    the analytic gradients of sum(out * seed) with respect to each target."""

    targets: list[Target]
    outputs: Callable[[], np.ndarray]
    gradients: Callable[[np.ndarray], list[np.ndarray]]


def _name_of(fn: Callable) -> str:
    inner = getattr(fn, "func", fn)  # functools.partial(ops.apply, "name")
    args = getattr(fn, "args", ())
    if args and isinstance(args[0], str):
        return args[0]
    if args and isinstance(getattr(args[0], "name", None), str):  # partial(ops.apply, op_instance)
        return args[0].name
    return getattr(inner, "__qualname__", None) or getattr(inner, "name", None) or repr(fn)


def gradcheck(fn: Callable[..., Tensor], *inputs: Any, eps: float = 1e-6, atol: float = 1e-6,
              rtol: float = 1e-4, seed: int = 0, name: str | None = None,
              mode: Mode = "auto") -> GradcheckReport:
    """Compare d(sum(fn(*inputs) * r))/d(input) from autograd with central differences, in float64.

    Float inputs are differentiated (converted to float64); integer/bool inputs pass through. r is a
    fixed random weighting so every output element counts. mode "full" differences every element;
    "directional" compares v . grad with the difference of fn along random directions v; "auto"
    (default) goes directional above DIRECTIONAL_ABOVE elements. Raises GradcheckError naming the
    function, input and worst element (full differences locate it when a direction fails), the
    analytic and numeric derivatives, the unweighted Jacobian entry where they differ most, and the
    relative error (`.rel_error`).
    """
    __tracebackhide__ = True  # pytest shows the caller and the report, not minigrad's loops
    label = name or _name_of(fn)
    arrays = [np.array(x.data if isinstance(x, Tensor) else x) for x in inputs]
    wrt = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    for i in wrt:
        arrays[i] = arrays[i].astype(np.float64)

    def evaluate(track: bool) -> tuple[Tensor, list[Tensor]]:
        ts = [Tensor(v, requires_grad=track and i in wrt) for i, v in enumerate(arrays)]
        out = fn(*ts)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck '{label}': fn must return a Tensor, returned {type(out).__name__}")
        return out, ts

    def gradients(weights: np.ndarray) -> list[np.ndarray]:
        out, ts = evaluate(True)
        out.backward(weights)
        return [np.zeros_like(arrays[i]) if ts[i].grad is None else ts[i].grad for i in wrt]

    def outputs() -> np.ndarray:
        # a copy: an output may be a view of the input that the next nudge changes (reshape)
        return np.array(evaluate(False)[0].data, dtype=np.float64, copy=True)

    out, _ = evaluate(True)
    if out.dtype != np.float64:
        raise TypeError(f"gradcheck '{label}': output dtype is {out.dtype}; float64 inputs must give float64")
    if not out.requires_grad:
        raise GradcheckError(f"gradcheck '{label}': output does not depend on any differentiable input")
    r = np.random.default_rng(seed).uniform(0.5, 1.5, size=out.shape)
    targets = [Target(f"input {i}", f"x{i}", arrays[i], g) for i, g in zip(wrt, gradients(r))]
    return compare(label, Problem(targets, outputs, gradients), r, eps=eps, atol=atol, rtol=rtol,
                   seed=seed, mode=mode)


def compare(label: str, problem: Problem, r: np.ndarray, *, eps: float, atol: float, rtol: float,
            seed: int, mode: Mode) -> GradcheckReport:
    """Check every target's analytic gradient of sum(out * r) against central differences."""
    __tracebackhide__ = True
    if mode not in ("auto", "full", "directional"):
        raise ValueError(f"gradcheck: mode must be 'auto', 'full' or 'directional', received {mode!r}")
    rng = np.random.default_rng(seed + 1)
    worst_abs = worst_rel = 0.0
    directional = 0
    for k, t in enumerate(problem.targets):
        if mode == "directional" or (mode == "auto" and t.values.size > DIRECTIONAL_ABOVE):
            directional += 1
            err, rel, failed = _along_directions(t, problem.outputs, r, rng, eps, atol, rtol)
            if failed is None:
                worst_abs, worst_rel = max(worst_abs, err), max(worst_rel, rel)
                continue
        else:
            failed = None
        numeric = np.empty_like(t.values)
        for idx in np.ndindex(t.values.shape):
            plus, minus = _nudged(problem.outputs, t.values, idx, eps)
            numeric[idx] = float(np.sum((plus - minus) * r)) / (2 * eps)
        err = np.abs(t.analytic - numeric)
        rel = err / np.maximum(np.abs(numeric), atol / rtol)
        bad = err > atol + rtol * np.abs(numeric)
        if bad.any() or failed is not None:  # a failed direction: the worst element, bad or not
            where = np.unravel_index(np.argmax(np.where(bad, err, -1) if bad.any() else err), t.values.shape)
            _fail(label, problem, k, where, float(numeric[where]), float(rel[where]), failed,
                  eps, atol, rtol)
        if err.size:
            worst_abs, worst_rel = max(worst_abs, float(err.max())), max(worst_rel, float(rel.max()))
    return GradcheckReport(label, sum(t.values.size for t in problem.targets), worst_abs, worst_rel,
                           directional)


def _along_directions(t: Target, outputs: Callable[[], np.ndarray], r: np.ndarray,
                      rng: np.random.Generator, eps: float, atol: float,
                      rtol: float) -> tuple[float, float, tuple[float, float, float] | None]:
    """v . analytic vs (f(x + eps v) - f(x - eps v)) . r / 2 eps for random v with every |v_i| in
    [0.5, 1.5]; returns the worst abs and rel errors and (analytic, numeric, rel) of a failed one."""
    worst_abs = worst_rel = 0.0
    for _ in range(_DIRECTIONS):
        v = rng.choice((-1.0, 1.0), size=t.values.shape) * rng.uniform(0.5, 1.5, size=t.values.shape)
        plus, minus = _nudged(outputs, t.values, ..., eps * v)
        numeric = float(np.sum((plus - minus) * r)) / (2 * eps)
        analytic = float(np.sum(v * t.analytic))
        err = abs(analytic - numeric)
        rel = err / max(abs(numeric), atol / rtol)
        if err > atol + rtol * abs(numeric):
            return err, rel, (analytic, numeric, rel)
        worst_abs, worst_rel = max(worst_abs, err), max(worst_rel, rel)
    return worst_abs, worst_rel, None


def _nudged(outputs: Callable[[], np.ndarray], values: np.ndarray, idx: Any,
            step: Any) -> tuple[np.ndarray, np.ndarray]:
    """outputs() with values[idx] moved by +step and by -step, then put back."""
    orig = np.array(values[idx], copy=True)
    values[idx] = orig + step
    plus = outputs()
    values[idx] = orig - step
    minus = outputs()
    values[idx] = orig
    return plus, minus


_MAX_JACOBIAN_OUTPUTS = 4096  # one backward pass per output element, only when a check fails


def _jacobian_line(problem: Problem, k: int, where: tuple, x: str, eps: float) -> str:
    """The unweighted Jacobian entry d out[j] / d x[where] where analytic and numeric differ most."""
    values = problem.targets[k].values
    plus, minus = _nudged(problem.outputs, values, where, eps)
    numeric_column = (plus - minus) / (2 * eps)
    if numeric_column.size > _MAX_JACOBIAN_OUTPUTS:
        return f"  (Jacobian entry not computed: the output has {numeric_column.size:,} elements)\n"
    analytic_column = np.empty_like(numeric_column)
    for j in np.ndindex(numeric_column.shape):
        seed = np.zeros(numeric_column.shape)
        seed[j] = 1.0
        analytic_column[j] = problem.gradients(seed)[k][where]
    j = np.unravel_index(int(np.argmax(np.abs(analytic_column - numeric_column))), numeric_column.shape)
    out = f"out[{', '.join(str(int(v)) for v in j)}]" if j else "out"
    return (f"  Jacobian entry d {out} / d {x} (unweighted; the output element where they differ "
            f"most): analytic {float(analytic_column[j]):.10g} vs numeric {float(numeric_column[j]):.10g}\n")


def _fail(label: str, problem: Problem, k: int, where: tuple, numeric: float, rel: float,
          direction: tuple[float, float, float] | None, eps: float, atol: float, rtol: float) -> None:
    """Raise the GradcheckError an author can act on: the element, both derivatives of the weighted
    sum (and along the random direction that failed, if one did), and the unweighted Jacobian entry."""
    __tracebackhide__ = True
    t = problem.targets[k]
    analytic = float(t.analytic[where])
    x = f"{t.symbol}[{', '.join(str(int(w)) for w in where)}]" if where else t.symbol  # x0 for a scalar
    lines = (f"gradcheck '{label}': wrong gradient for {t.what} (shape {t.values.shape}) at {x} = "
             f"{float(t.values[where]):.10g}\n")
    if direction is not None:
        lines += (f"  along a random direction v (|v_i| in [0.5, 1.5]): d sum(out * r) / d {t.symbol} . v: "
                  f"analytic {direction[0]:.10g} vs numeric {direction[1]:.10g}; {x} differs most\n")
    lines += (f"  directional derivative d sum(out * r) / d {x}, r = fixed weights in [0.5, 1.5]: "
              f"analytic {analytic:.10g} vs numeric {numeric:.10g}\n")
    lines += _jacobian_line(problem, k, where, x, eps)
    if abs(analytic - numeric) > atol + rtol * abs(numeric):
        lines += (f"  relative error {rel:.3g}: |diff| {abs(analytic - numeric):.3g} > atol {atol:g} + "
                  f"rtol {rtol:g} * |numeric| (central differences, eps {eps:g})")
    else:  # every element within tolerance, their sum along v not: many small errors add up
        a, n, rel = direction
        lines += (f"  relative error {rel:.3g} along v: |diff| {abs(a - n):.3g} > atol {atol:g} + rtol "
                  f"{rtol:g} * |numeric|; no single element exceeds the tolerance (eps {eps:g})")
    error = GradcheckError(lines)
    error.rel_error = rel
    raise error

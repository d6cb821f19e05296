"""Central finite differences in float64 against autograd."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from minigrad.errors import GradcheckError
from minigrad.tensor import Tensor

__all__ = ["gradcheck", "GradcheckReport"]


@dataclass(frozen=True)
class GradcheckReport:
    """What a passing gradcheck compared."""

    name: str
    elements: int           # input elements perturbed
    max_abs_error: float
    max_rel_error: float    # |analytic - numeric| / max(|numeric|, atol/rtol)


def _name_of(fn: Callable) -> str:
    inner = getattr(fn, "func", fn)  # functools.partial(ops.apply, "name")
    args = getattr(fn, "args", ())
    if args and isinstance(args[0], str):
        return args[0]
    if args and isinstance(getattr(args[0], "name", None), str):  # partial(ops.apply, op_instance)
        return args[0].name
    return getattr(inner, "__qualname__", None) or getattr(inner, "name", None) or repr(fn)


def gradcheck(fn: Callable[..., Tensor], *inputs: Any, eps: float = 1e-6, atol: float = 1e-6,
              rtol: float = 1e-4, seed: int = 0, name: str | None = None) -> GradcheckReport:
    """Compare d(sum(fn(*inputs) * r))/d(input) from autograd with central differences, in float64.

    Float inputs are differentiated (converted to float64); integer/bool inputs pass through.
    r is a fixed random projection so every output element counts. Raises GradcheckError naming the
    function, input and worst element, the analytic and numeric directional derivatives, the
    unweighted Jacobian entry where they differ most, and the relative error (`.rel_error`).
    """
    label = name or _name_of(fn)
    arrays = [np.array(x.data if isinstance(x, Tensor) else x) for x in inputs]
    wrt = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    for i in wrt:
        arrays[i] = arrays[i].astype(np.float64)

    def evaluate(values: list[np.ndarray], track: bool) -> tuple[Tensor, list[Tensor]]:
        ts = [Tensor(v, requires_grad=track and i in wrt) for i, v in enumerate(values)]
        out = fn(*ts)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck '{label}': fn must return a Tensor, returned {type(out).__name__}")
        return out, ts

    __tracebackhide__ = True  # pytest shows the caller and the report, not this loop
    out, ts = evaluate(arrays, True)
    if out.dtype != np.float64:
        raise TypeError(f"gradcheck '{label}': output dtype is {out.dtype}; float64 inputs must give float64")
    r = np.random.default_rng(seed).uniform(0.5, 1.5, size=out.shape)
    if not out.requires_grad:
        raise GradcheckError(f"gradcheck '{label}': output does not depend on any differentiable input")
    out.backward(r)
    analytic = [np.zeros_like(arrays[i]) if ts[i].grad is None else ts[i].grad for i in wrt]

    def outputs(values: list[np.ndarray]) -> np.ndarray:
        # a copy: an output may be a view of the input that the next nudge changes (reshape)
        return np.array(evaluate(values, False)[0].data, dtype=np.float64, copy=True)

    worst_abs = worst_rel = 0.0
    total = 0
    for k, i in enumerate(wrt):
        numeric = np.empty_like(arrays[i])
        for idx in np.ndindex(arrays[i].shape):
            plus, minus = _nudged(outputs, arrays, i, idx, eps)
            numeric[idx] = float(np.sum((plus - minus) * r)) / (2 * eps)
        total += arrays[i].size
        err = np.abs(analytic[k] - numeric)
        rel = err / np.maximum(np.abs(numeric), atol / rtol)
        bad = err > atol + rtol * np.abs(numeric)
        if bad.any():
            where = np.unravel_index(np.argmax(np.where(bad, err, -1)), arrays[i].shape)
            _fail(label, evaluate, outputs, arrays, i, where, float(analytic[k][where]),
                  float(numeric[where]), float(rel[where]), eps, atol, rtol)
        if err.size:
            worst_abs = max(worst_abs, float(err.max()))
            worst_rel = max(worst_rel, float(rel.max()))
    return GradcheckReport(label, total, worst_abs, worst_rel)


def _nudged(outputs: Callable, arrays: list[np.ndarray], i: int, idx: tuple,
            eps: float) -> tuple[np.ndarray, np.ndarray]:
    """fn's outputs with input i's element idx moved by +eps and by -eps."""
    base = arrays[i]
    orig = base[idx]
    base[idx] = orig + eps
    plus = outputs(arrays)
    base[idx] = orig - eps
    minus = outputs(arrays)
    base[idx] = orig
    return plus, minus


_MAX_JACOBIAN_OUTPUTS = 4096  # one backward pass per output element, only when a check fails


def _fail(label: str, evaluate: Callable, outputs: Callable, arrays: list[np.ndarray], i: int,
          where: tuple, analytic: float, numeric: float, rel: float, eps: float, atol: float,
          rtol: float) -> None:
    """Raise the GradcheckError an op author can act on: the element, both directional derivatives,
    and the unweighted Jacobian entry d out[j] / d x[where] where the two disagree most."""
    __tracebackhide__ = True
    x = f"x{i}[{', '.join(str(int(w)) for w in where)}]" if where else f"x{i}"  # x0 for a scalar
    plus, minus = _nudged(outputs, arrays, i, where, eps)
    numeric_column = (plus - minus) / (2 * eps)
    if numeric_column.size <= _MAX_JACOBIAN_OUTPUTS:
        analytic_column = np.empty_like(numeric_column)
        for j in np.ndindex(numeric_column.shape):
            out, ts = evaluate(arrays, True)
            seed = np.zeros(out.shape)
            seed[j] = 1.0
            out.backward(seed)
            analytic_column[j] = 0.0 if ts[i].grad is None else ts[i].grad[where]
        j = np.unravel_index(int(np.argmax(np.abs(analytic_column - numeric_column))),
                             numeric_column.shape)
        out = f"out[{', '.join(str(int(v)) for v in j)}]" if j else "out"
        jacobian = (f"  Jacobian entry d {out} / d {x} (unweighted; the output element where they "
                    f"differ most): analytic {float(analytic_column[j]):.10g} vs numeric "
                    f"{float(numeric_column[j]):.10g}\n")
    else:
        jacobian = f"  (Jacobian entry not computed: the output has {numeric_column.size:,} elements)\n"
    error = GradcheckError(
        f"gradcheck '{label}': wrong gradient for input {i} (shape {arrays[i].shape}) at {x} = "
        f"{float(arrays[i][where]):.10g}\n"
        f"  directional derivative d sum(out * r) / d {x}, r = fixed weights in [0.5, 1.5]: "
        f"analytic {analytic:.10g} vs numeric {numeric:.10g}\n"
        + jacobian +
        f"  relative error {rel:.3g}: |diff| {abs(analytic - numeric):.3g} > atol {atol:g} + rtol "
        f"{rtol:g} * |numeric| (central differences, eps {eps:g})")
    error.rel_error = rel
    raise error

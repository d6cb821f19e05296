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
    return getattr(inner, "__qualname__", None) or getattr(inner, "name", None) or repr(fn)


def gradcheck(fn: Callable[..., Tensor], *inputs: Any, eps: float = 1e-6, atol: float = 1e-6,
              rtol: float = 1e-4, seed: int = 0, name: str | None = None) -> GradcheckReport:
    """Compare d(sum(fn(*inputs) * r))/d(input) from autograd with central differences, in float64.

    Float inputs are differentiated (converted to float64); integer/bool inputs pass through.
    r is a fixed random projection so every output element counts. Raises GradcheckError naming the
    function, input, worst element, analytic vs numeric values and tolerance.
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

    out, ts = evaluate(arrays, True)
    if out.dtype != np.float64:
        raise TypeError(f"gradcheck '{label}': output dtype is {out.dtype}; float64 inputs must give float64")
    r = np.random.default_rng(seed).uniform(0.5, 1.5, size=out.shape)
    if not out.requires_grad:
        raise GradcheckError(f"gradcheck '{label}': output does not depend on any differentiable input")
    out.backward(r)
    analytic = [np.zeros_like(arrays[i]) if ts[i].grad is None else ts[i].grad for i in wrt]

    def projected(values: list[np.ndarray]) -> float:
        return float(np.sum(evaluate(values, False)[0].data * r))

    worst_abs = worst_rel = 0.0
    total = 0
    for k, i in enumerate(wrt):
        base = arrays[i]
        numeric = np.empty_like(base)
        for idx in np.ndindex(base.shape):
            orig = base[idx]
            base[idx] = orig + eps
            plus = projected(arrays)
            base[idx] = orig - eps
            minus = projected(arrays)
            base[idx] = orig
            numeric[idx] = (plus - minus) / (2 * eps)
        total += base.size
        err = np.abs(analytic[k] - numeric)
        bad = err > atol + rtol * np.abs(numeric)
        if bad.any():
            where = np.unravel_index(np.argmax(np.where(bad, err, -1)), base.shape) if base.ndim else ()
            raise GradcheckError(
                f"gradcheck '{label}': input {i} (shape {base.shape}) element {tuple(int(w) for w in where)}: "
                f"analytic {analytic[k][where]!r} vs numeric {numeric[where]!r} "
                f"(|diff| {err[where]:.3g} > atol {atol:g} + rtol {rtol:g} * |numeric|; eps {eps:g})"
            )
        if err.size:
            worst_abs = max(worst_abs, float(err.max()))
            worst_rel = max(worst_rel, float((err / np.maximum(np.abs(numeric), atol / rtol)).max()))
    return GradcheckReport(label, total, worst_abs, worst_rel)

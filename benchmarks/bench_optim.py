"""One optimizer step over the reference CNN's 93,322 parameters (its 10 weight tensors), float32.

minigrad's fused step (one Cython pass over the flat weight buffer, including the Python-side
bookkeeping of apply_gradients) against torch.optim, each in processes of its own (harness.compare;
torch as it comes: channels_last and malloc settings do not touch 1-D updates of this size). The
torch process times RMSprop with foreach=False (a per-tensor loop) and foreach=True (multi-tensor
kernels), Adam with foreach=True and fused=True, and reports its fastest variant as torch's figure.
A per-weight NumPy loop of Keras' RMSprop formula, timed in the minigrad process, shows what the
fused pass saves. Gradients are fixed between steps: only the update is timed.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks import harness

GROUP = "optimizer step"
SHAPES = [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (3, 3, 64, 64), (64,), (576, 64), (64,), (64, 10), (10,)]
LR, RHO, EPS = 1e-3, 0.9, 1e-7
N_PARAMS = sum(int(np.prod(s)) for s in SHAPES)  # 93,322, as REFERENCE.md counts


def _arrays(seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.05, s).astype(np.float32) for s in SHAPES]
    grads = [rng.normal(0, 0.01, s).astype(np.float32) for s in SHAPES]
    return weights, grads


def _minigrad_step(opt: Any) -> Any:
    from minigrad.tensor import Tensor

    weights, grads = _arrays()
    tensors = [Tensor(w, requires_grad=True) for w in weights]
    for t, g in zip(tensors, grads):
        t.grad = g
    opt.apply_gradients(tensors)  # first step packs the flat buffers
    return lambda: opt.apply_gradients(tensors)


def _numpy_loop_step() -> Any:
    weights, grads = _arrays()
    velocity = [np.zeros_like(w) for w in weights]

    def step() -> None:
        for w, g, v in zip(weights, grads, velocity):
            v *= RHO
            v += (1 - RHO) * g * g
            w -= LR * g / np.sqrt(v + EPS)

    return step


def _torch_step(torch: Any, cls: str, **options: Any) -> Any:
    weights, grads = _arrays()
    params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in weights]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g.copy())
    if cls == "RMSprop":
        opt = torch.optim.RMSprop(params, lr=LR, alpha=RHO, eps=EPS, **options)
    else:
        opt = torch.optim.Adam(params, lr=LR, eps=EPS, **options)
    opt.step()
    return opt.step


def _best_variant(torch: Any, cls: str, variants: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """torch's fastest variant of `cls` and every variant's ms (an unavailable one is skipped)."""
    timed = {}
    for label, opts in variants.items():
        try:
            timed[label] = harness.time_case(_torch_step(torch, cls, **opts), repeat=21)["ms"]
        except (RuntimeError, TypeError):  # fused Adam may be unavailable on this CPU build
            continue
    best = min(timed, key=timed.get)
    return {"ms": timed[best], "best": best, **{f"{label} ms": ms for label, ms in timed.items()}}


def measure(side: harness.Side, threads: int) -> dict[str, dict[str, Any]]:
    """In one side's process: ms per RMSprop and Adam step (+ the NumPy loop for minigrad)."""
    if side.framework == "minigrad":
        from minigrad import optimizers

        return {
            "RMSprop step": harness.time_case(
                _minigrad_step(optimizers.RMSprop(learning_rate=LR)), repeat=21),
            "Adam step": harness.time_case(
                _minigrad_step(optimizers.Adam(learning_rate=LR)), repeat=21),
            "RMSprop step: NumPy per-weight loop (Keras formula), not minigrad": harness.time_case(
                _numpy_loop_step(), repeat=21),
        }
    import torch

    return {
        "RMSprop step": _best_variant(torch, "RMSprop", {
            "foreach=False": {"foreach": False}, "foreach=True": {"foreach": True}}),
        "Adam step": _best_variant(torch, "Adam", {
            "foreach=True": {"foreach": True}, "fused=True": {"fused": True}}),
    }


def _describe(case: str, mine: dict, theirs: dict | None) -> str:
    info = f"{N_PARAMS:,} params in {len(SHAPES)} tensors"
    if not theirs or "best" not in theirs:  # no torch side, or the other minigrad build (--other-build)
        return info
    variants = ", ".join(f"{k.removesuffix(' ms')} {v:.3f} ms" for k, v in theirs.items()
                         if k.endswith(" ms"))
    return f"{info}; torch {variants} (its fastest: {theirs['best']})"


def run(threads: int) -> list[dict[str, Any]]:
    """Rows: RMSprop and Adam steps vs torch's fastest variant, and the NumPy loop."""
    rows, _ = harness.compare(__name__, GROUP, threads, full_rounds=3,
                              sides=(harness.MINIGRAD, harness.TORCH), describe=_describe)
    for r in rows:
        if r["base_case"] == "RMSprop step" and r["side"]:
            r["readme"] = "RMSprop step over the 93,322 parameters"
    return rows


if __name__ == "__main__":
    harness.standalone(run)

"""One optimizer step over the reference CNN's 93,322 parameters (its 10 weight tensors), float32.

minigrad's fused step (one Cython pass over the flat weight buffer, including the Python-side
bookkeeping of apply_gradients) against torch.optim in the same process with the same threads:
RMSprop with foreach=False (a per-tensor loop) and foreach=True (multi-tensor kernels), Adam
additionally with fused=True. A per-weight NumPy loop of Keras' RMSprop formula shows what the
fused pass saves. Gradients are fixed between steps: only the update is timed. minigrad and torch
samples alternate (see _paired_ms) so that load from other processes hits both sides alike.
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import numpy as np

from benchmarks import harness

GROUP = "optimizer step"
SHAPES = [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (3, 3, 64, 64), (64,), (576, 64), (64,), (64, 10), (10,)]
LR, RHO, EPS = 1e-3, 0.9, 1e-7


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


def _paired_ms(fns: list[Callable[[], object]], number: int = 50, rounds: int = 21) -> list[float]:
    """Median ms per call of each fn, sampling them in turn (a, b, a, b, ...) after a warmup."""
    if harness.quick():
        rounds = 5
    samples: list[list[float]] = [[] for _ in fns]
    for r in range(rounds + 2):
        for fn, out in zip(fns, samples):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            if r >= 2:  # the first two rounds warm caches, the allocator and the thread pools
                out.append((time.perf_counter() - start) / number * 1e3)
    return [statistics.median(s) for s in samples]


def run(threads: int) -> list[dict[str, Any]]:
    """Rows: RMSprop vs torch foreach=False/True, Adam vs torch foreach/fused, and the NumPy loop."""
    from minigrad import optimizers

    torch = harness.torch_or_none()
    n_params = sum(int(np.prod(s)) for s in SHAPES)
    assert n_params == 93_322, n_params
    info = f"{n_params:,} params in {len(SHAPES)} tensors, {threads} thr"
    rms_step = _minigrad_step(optimizers.RMSprop(learning_rate=LR))
    adam_step = _minigrad_step(optimizers.Adam(learning_rate=LR))
    loop, rms = _paired_ms([_numpy_loop_step(), rms_step])
    rows = [harness.row(GROUP, "RMSprop: NumPy per-weight loop (Keras formula), not minigrad", loop, None,
                        f"{info}; minigrad fused in the same samples: {rms:.3f} ms")]
    if torch is None:
        (adam,) = _paired_ms([adam_step])
        return rows + [harness.row(GROUP, "RMSprop fused", rms, None, info),
                       harness.row(GROUP, "Adam fused", adam, None, info)]
    for label, opts in (("foreach=False", {"foreach": False}), ("foreach=True", {"foreach": True})):
        mine, theirs = _paired_ms([rms_step, _torch_step(torch, "RMSprop", **opts)])
        rows.append(harness.row(GROUP, f"RMSprop fused vs torch {label}", mine, theirs, info))
    for label, opts in (("foreach=True", {"foreach": True}), ("fused=True", {"fused": True})):
        try:
            theirs_step = _torch_step(torch, "Adam", **opts)
        except (RuntimeError, TypeError) as exc:  # fused Adam may be unavailable on this CPU build
            rows.append(harness.row(GROUP, f"Adam fused vs torch {label}", None, None, f"torch: {exc}"))
            continue
        mine, theirs = _paired_ms([adam_step, theirs_step])
        rows.append(harness.row(GROUP, f"Adam fused vs torch {label}", mine, theirs, info))
    return rows


if __name__ == "__main__":
    harness.standalone(run)

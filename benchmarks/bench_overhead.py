"""Per-op dispatch overhead: a tiny (10,) add with grad, and a 100-op chain forward+backward.

Each framework runs in processes of its own (harness.compare; torch as it comes: memory format
and malloc settings do not touch (10,) tensors). Times are ms per op so the ratio reads directly.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from benchmarks import harness

GROUP = "op overhead"
CHAIN = 100


def _cases(a: Any, b: Any) -> tuple[Callable[[], object], Callable[[], None]]:
    def add() -> object:
        return a + b

    def chain() -> None:
        z = a
        for _ in range(CHAIN):
            z = z + b
        z.sum().backward()

    return add, chain


def measure(side: harness.Side, threads: int) -> dict[str, dict[str, float]]:
    """In one side's process: µs-scale medians of a single add and of the chain, per op."""
    if side.framework == "minigrad":
        import minigrad as mg

        a, b = (mg.Tensor(np.ones(10, np.float32), requires_grad=True) for _ in range(2))
    else:
        import torch

        a, b = (torch.ones(10, requires_grad=True) for _ in range(2))
    add, chain = _cases(a, b)
    return {"add (10,) with grad, per op": harness.time_case(add, repeat=31),
            f"{CHAIN}-op chain fwd+bwd, per op": harness.time_case(chain, per=CHAIN + 1, repeat=31)}


def _describe(case: str, mine: dict, theirs: dict | None) -> str:
    return f"{mine['ms'] * 1e3:.2f} µs per op" + (f", torch {theirs['ms'] * 1e3:.2f}" if theirs else "")


def run(threads: int) -> list[dict[str, Any]]:
    """Rows: both cases against torch."""
    rows, _ = harness.compare(__name__, GROUP, threads, full_rounds=3,
                              sides=(harness.MINIGRAD, harness.TORCH), describe=_describe)
    for r in rows:
        if r["base_case"].startswith(f"{CHAIN}-op") and r["side"]:
            r["readme"] = f"op overhead, {CHAIN}-op chain fwd+bwd (per op)"
    return rows


if __name__ == "__main__":
    harness.standalone(run)

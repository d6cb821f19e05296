"""Per-op dispatch overhead: a tiny (10,) add with grad, and a 100-op chain forward+backward."""
from __future__ import annotations

import numpy as np

from benchmarks import harness

CHAIN = 100


def _minigrad_cases() -> tuple:
    import minigrad as mg

    a = mg.Tensor(np.ones(10, np.float32), requires_grad=True)
    b = mg.Tensor(np.ones(10, np.float32), requires_grad=True)

    def add() -> object:
        return a + b

    def chain() -> None:
        z = a
        for _ in range(CHAIN):
            z = z + b
        z.sum().backward()

    return add, chain


def _torch_cases(torch) -> tuple:
    a = torch.ones(10, requires_grad=True)
    b = torch.ones(10, requires_grad=True)

    def add() -> object:
        return a + b

    def chain() -> None:
        z = a
        for _ in range(CHAIN):
            z = z + b
        z.sum().backward()

    return add, chain


def run(threads: int) -> list[dict]:
    """Per-op microseconds reported as ms per op so the ratio reads directly."""
    add, chain = _minigrad_cases()
    mg_add = harness.median_ms(add, repeat=30)
    mg_chain = harness.median_ms(chain, repeat=30) / (CHAIN + 1)
    torch = harness.torch_or_none()
    t_add = t_chain = None
    if torch is not None:
        t_add_fn, t_chain_fn = _torch_cases(torch)
        t_add = harness.median_ms(t_add_fn, repeat=30)
        t_chain = harness.median_ms(t_chain_fn, repeat=30) / (CHAIN + 1)
    return [
        harness.row("op overhead", "add (10,) with grad, per op", mg_add, t_add,
                    f"{mg_add * 1e3:.2f} µs per op"),
        harness.row("op overhead", f"{CHAIN}-op chain fwd+bwd, per op", mg_chain, t_chain,
                    f"{mg_chain * 1e3:.2f} µs per op"),
    ]


if __name__ == "__main__":
    harness.standalone(run)

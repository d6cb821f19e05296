"""2x2 max-pool and relu on the reference CNN's first activation, (64, 26, 26, 32) float32.

Cases: max-pool forward, max-pool forward+backward, relu forward+backward; median ms and minor
page faults per call. Each framework runs in processes of its own (harness.compare): minigrad
(NHWC), torch at its strongest (channels_last, kept malloc) and as it comes (NCHW).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from benchmarks import harness

GROUP = "pool"
SHAPE = (64, 26, 26, 32)  # NHWC


def _minigrad_cases() -> dict[str, Callable]:
    from minigrad.kernels import max_pool2d_backward, max_pool2d_forward, relu_backward, relu_forward

    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE, dtype=np.float32)
    y, _ = max_pool2d_forward(x, 2)
    dy_pool = rng.standard_normal(y.shape, dtype=np.float32)
    dy_relu = rng.standard_normal(SHAPE, dtype=np.float32)

    def pool_fwd_bwd() -> None:
        _, argmax = max_pool2d_forward(x, 2)
        max_pool2d_backward(dy_pool, argmax, SHAPE, 2)

    def relu_fwd_bwd() -> None:
        relu_forward(x)
        relu_backward(dy_relu, x)

    return {"maxpool2x2 fwd": lambda: max_pool2d_forward(x, 2), "maxpool2x2 fwd+bwd": pool_fwd_bwd,
            "relu fwd+bwd": relu_fwd_bwd}


def _torch_cases(torch: Any, channels_last: bool) -> dict[str, Callable]:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    n, h, w, c = SHAPE
    x = torch.randn(n, c, h, w).to(memory_format=fmt).requires_grad_(True)
    dy_pool = torch.randn(n, c, h // 2, w // 2).to(memory_format=fmt)
    dy_relu = torch.randn(n, c, h, w).to(memory_format=fmt)
    pool, relu = torch.nn.functional.max_pool2d, torch.nn.functional.relu

    def pool_fwd() -> None:
        with torch.no_grad():
            pool(x, 2)

    def pool_fwd_bwd() -> None:
        x.grad = None
        pool(x, 2).backward(dy_pool)

    def relu_fwd_bwd() -> None:
        x.grad = None
        relu(x).backward(dy_relu)

    return {"maxpool2x2 fwd": pool_fwd, "maxpool2x2 fwd+bwd": pool_fwd_bwd, "relu fwd+bwd": relu_fwd_bwd}


def measure(side: harness.Side, threads: int) -> dict[str, dict[str, float]]:
    """In one side's process: median ms and faults per call of every case."""
    if side.framework == "minigrad":
        cases = _minigrad_cases()
    else:
        import torch

        cases = _torch_cases(torch, side.channels_last)
    return {f"{case} {SHAPE}": harness.time_case(fn, repeat=25) for case, fn in cases.items()}


def _describe(case: str, mine: dict, theirs: dict | None) -> str:
    return f"{mine['faults']:.0f} faults/call" + (f", torch {theirs['faults']:.0f}" if theirs else "")


def run(threads: int) -> list[dict[str, Any]]:
    """Rows: each case x torch setup."""
    rows, _ = harness.compare(__name__, GROUP, threads, describe=_describe)
    for r in rows:
        if r["base_case"].startswith("maxpool2x2 fwd+bwd") and r["side"] == harness.TORCH_BEST.name:
            r["readme"] = "max-pool 2×2 on (64, 26, 26, 32), fwd+bwd"
    return rows


if __name__ == "__main__":
    harness.standalone(run)

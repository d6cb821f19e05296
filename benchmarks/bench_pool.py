"""2x2 max-pool and relu on the reference CNN's first activation, (64, 26, 26, 32) float32 NHWC.

Cases: max-pool forward, max-pool forward+backward, relu forward+backward; median ms and minor
page faults per call, with the ratio to PyTorch CPU in the same process and thread count: NCHW as
it comes, channels_last, and channels_last after telling glibc to keep freed memory (torch's
strongest setup here; minigrad is re-measured under it too). Target: max-pool fwd+bwd ratio <= 1.0
against the strongest torch.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from benchmarks import harness
from benchmarks.bench_conv import _faults_per_call

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


def _measure(cases: dict[str, Callable]) -> dict[str, tuple[float, float]]:
    return {k: (harness.median_ms(fn, repeat=25), _faults_per_call(fn)) for k, fn in cases.items()}


def run(threads: int) -> list[dict]:
    """Rows: each case x torch setup (NCHW, channels_last; default and kept malloc)."""
    from minigrad.threads import set_num_threads

    set_num_threads(threads)
    rows = []
    for phase, case, label, (ms, faults), (t_ms, t_faults) in harness.malloc_phases(
            _minigrad_cases, _torch_cases, _measure):
        extra = f"{faults:.0f} faults/call" + (f", torch {t_faults:.0f}" if label else "")
        rows.append(harness.row(GROUP, f"{case} {SHAPE} vs torch {label or '-'} ({phase})",
                                ms, t_ms, extra))
    return rows


if __name__ == "__main__":
    harness.standalone(run)

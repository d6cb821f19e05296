"""The reference CNN's three conv layers at batch 64 (3x3 valid), minigrad vs PyTorch CPU.

For each layer: forward and forward+backward (dw and db always; dx for layers 2 and 3 only, as in
training where the images need no gradient), median ms, GFLOP/s and minor page faults per call.
Each framework runs in processes of its own (harness.compare): minigrad (NHWC kernels of
minigrad.kernels), torch at its strongest (channels_last, kept malloc) and as it comes (NCHW).
The minigrad process also times a 2048^3 numpy sgemm with as many BLAS threads as the run has
threads and reports the 32->64 layer's fwd+bwd rate as a share of it: on one thread that share has
a floor of 70 % (a kernel whose register tiles spill lands far below it).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from benchmarks import harness

GROUP = "conv"
BATCH = 64
SGEMM_N = 2048
SHARE_FLOOR = 0.70
SHARE_LAYER = "conv2 32->64 13x13"
SHARE_CASE = f"{SHARE_LAYER} fwd+bwd share of sgemm"
LAYERS = [  # (name, in_channels, filters, size, need_dx)
    ("conv1 1->32 28x28", 1, 32, 28, False),
    (SHARE_LAYER, 32, 64, 13, True),
    ("conv3 64->64 5x5", 64, 64, 5, True),
]


def sgemm_gflops(threads: int) -> float:
    """numpy float32 (SGEMM_N)^3 matmul throughput in GFLOP/s with `threads` BLAS threads."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = (rng.random((SGEMM_N, SGEMM_N), dtype=np.float32) for _ in range(2))
    c = np.empty_like(a)
    with threadpool_limits(threads, user_api="blas"):
        ms = harness.time_case(lambda: np.matmul(a, b, out=c), warmup=1, repeat=5, min_time=0)["ms"]
    return 2 * SGEMM_N**3 / ms / 1e6


def _flops(cin: int, cout: int, size: int, need_dx: bool) -> dict[str, float]:
    fwd = 2.0 * BATCH * (size - 2) ** 2 * cout * 9 * cin
    return {"fwd": fwd, "fwd+bwd": fwd * (3 if need_dx else 2)}


def _minigrad_layer(cin: int, cout: int, size: int, need_dx: bool) -> dict[str, Callable]:
    from minigrad.kernels import conv2d_backward, conv2d_forward

    rng = np.random.default_rng(0)
    x = rng.random((BATCH, size, size, cin), dtype=np.float32)
    w = rng.standard_normal((3, 3, cin, cout), dtype=np.float32) * 0.1
    b = np.zeros(cout, np.float32)
    dy = rng.standard_normal((BATCH, size - 2, size - 2, cout), dtype=np.float32)

    def fwd_bwd() -> None:
        conv2d_forward(x, w, b)
        conv2d_backward(dy, x, w, need_dx=need_dx)

    return {"fwd": lambda: conv2d_forward(x, w, b), "fwd+bwd": fwd_bwd}


def _kernel_path(cin: int, cout: int, size: int) -> str:
    """The path minigrad's _conv reports for this layer, when it reports one."""
    from minigrad._ext import _conv

    path = getattr(_conv, "kernel_path", None)
    if path is None:
        return "path not reported"
    try:
        return path((BATCH, size, size, cin), (3, 3, cin, cout), (BATCH, size - 2, size - 2, cout),
                    1, 1, 1, 1, 0, 0, 1, 4)
    except TypeError:  # another signature: the plan API changed under us
        return "path not reported"


def _without_implicit(fn: Callable[[], object]) -> Callable[[], object] | None:
    """fn with the implicit GEMM switched off (im2col + BLAS), where _conv offers that switch."""
    from minigrad._ext import _conv

    switch = getattr(_conv, "use_implicit_gemm", None)
    if switch is None:
        return None

    def run() -> None:
        previous = switch(False)
        try:
            fn()
        finally:
            switch(previous)

    return run


def _torch_layer(torch: Any, cin: int, cout: int, size: int, need_dx: bool,
                 channels_last: bool) -> dict[str, Callable]:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    conv = torch.nn.Conv2d(cin, cout, 3).to(memory_format=fmt)
    x = torch.rand(BATCH, cin, size, size).to(memory_format=fmt).requires_grad_(need_dx)
    dy = torch.randn(BATCH, cout, size - 2, size - 2).to(memory_format=fmt)

    def fwd() -> None:
        with torch.no_grad():
            conv(x)

    def fwd_bwd() -> None:
        conv.weight.grad = conv.bias.grad = x.grad = None
        conv(x).backward(dy)

    return {"fwd": fwd, "fwd+bwd": fwd_bwd}


def measure(side: harness.Side, threads: int) -> dict[str, dict[str, Any]]:
    """In one side's process: every layer's fwd and fwd+bwd (+ sgemm share for minigrad)."""
    out: dict[str, dict[str, Any]] = {}
    for name, cin, cout, size, need_dx in LAYERS:
        flops = _flops(cin, cout, size, need_dx)
        if side.framework == "minigrad":
            cases, path = _minigrad_layer(cin, cout, size, need_dx), _kernel_path(cin, cout, size)
        else:
            import torch

            cases, path = _torch_layer(torch, cin, cout, size, need_dx, side.channels_last), None
        for kind, fn in cases.items():
            res = harness.time_case(fn, repeat=15)
            out[f"{name} {kind}"] = {**res, "gflops": flops[kind] / res["ms"] / 1e6, "path": path}
            off = _without_implicit(fn) if path == "implicit" else None
            if off is not None:  # what the implicit GEMM replaced, timed in the same process
                out[f"{name} {kind}"]["im2col_ms"] = harness.time_case(off, repeat=15)["ms"]
    if side.framework == "minigrad":
        peak = sgemm_gflops(threads)
        out[SHARE_CASE] = {
            "ms": None, "sgemm_gflops": peak, "share": out[f"{SHARE_LAYER} fwd+bwd"]["gflops"] / peak}
    return out


def _describe(case: str, mine: dict, theirs: dict | None) -> str:
    if "share" in mine:
        return (f"{100 * mine['share']:.0f}% of a same-process {SGEMM_N}^3 sgemm "
                f"({mine['sgemm_gflops']:.0f} GFLOP/s)")
    text = f"{mine['gflops']:.0f} GFLOP/s, {mine['faults']:.0f} faults/call, {mine['path']}"
    if mine.get("im2col_ms"):
        text += f"; im2col + BLAS instead: {harness.fmt_ms(mine['im2col_ms'])} ms"
    return text + (f"; torch {theirs['gflops']:.0f} GFLOP/s, {theirs['faults']:.0f} faults/call"
                   if theirs else "")


def run(threads: int) -> list[dict[str, Any]]:
    """Rows: 3 layers x (fwd, fwd+bwd) x torch setups, and the 32->64 layer's share of sgemm."""
    rows, measured = harness.compare(__name__, GROUP, threads, describe=_describe)
    for r in rows:
        if r["base_case"] == SHARE_CASE:
            r["case"] = f"{SHARE_LAYER} fwd+bwd, share of a {SGEMM_N}^3 sgemm ({threads} thr)"
            r["spread"] = harness.own_spread(measured, SHARE_CASE, "share")
            if threads == 1:  # the floor is defined on one thread
                share = harness.medians(measured, "minigrad", SHARE_CASE)["share"]
                harness.add_check(r, "conv 32->64 fwd+bwd / sgemm, 1 thread", share,
                                  floor=SHARE_FLOOR)
        elif r["base_case"].endswith("fwd+bwd") and r["side"] == harness.TORCH_BEST.name:
            name = r["base_case"].split(" ", 1)[1].removesuffix(" fwd+bwd")  # "32->64 13x13"
            r["readme"] = f"conv {name.replace('->', '→').replace('x', '×')}, fwd+bwd"
    return rows


if __name__ == "__main__":
    harness.standalone(run)

"""The reference CNN's three conv layers at batch 64 (3x3 valid), minigrad vs PyTorch CPU.

For each layer: forward and forward+backward (dw and db always; dx for layers 2 and 3 only, as in
training where the images need no gradient), median ms, GFLOP/s and minor page faults per call.
Each framework runs in processes of its own (harness.compare): minigrad (NHWC kernels of
minigrad.kernels), torch at its strongest (channels_last, kept malloc) and as it comes (NCHW).
The minigrad process also times a 2048^3 numpy sgemm with as many BLAS threads as the run has
threads and reports the 32->64 layer's fwd+bwd rate by the implicit GEMM (forced: Winograd, on the
same register tiles, does fewer FLOPs than a direct convolution) as a share of it: on one thread
that share has a floor of 70 % (a kernel whose register tiles spill lands far below it). On one thread the share
is also measured at every other ISA level this CPU and build can run (MINIGRAD_ISA=level, a
process each), against an sgemm held to the same level (OPENBLAS_CORETYPE: OpenBLAS's Haswell
kernels for AVX2, Nehalem's for the baseline): an AVX2 kernel has half the peak of an AVX-512 sgemm
on a CPU with AVX-512. The floor holds on the FMA levels (AVX2, AVX-512), not on SSE2's baseline,
whose multiply-then-add kernels cannot reach 70 % of an FMA sgemm.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from benchmarks import harness, table

GROUP = "conv"
BATCH = 64
SGEMM_N = 2048
SHARE_FLOOR = 0.70
SHARE_LAYER = "conv2 32->64 13x13"
SHARE_CASE = f"{SHARE_LAYER} fwd+bwd share of sgemm"
FLOOR_LEVELS = ("avx2", "avx512")  # the FMA levels; SSE2's baseline kernels get no floor
# numpy's OpenBLAS (built for every x86-64 core) told to use the kernels of one ISA level
OPENBLAS_CORE = {"avx2": "Haswell", "baseline": "Nehalem"}
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


def _paths(cin: int, cout: int, size: int) -> str:
    """The paths minigrad runs for this layer (read after the calls: they may be measured then)."""
    from minigrad._ext import _conv
    from minigrad.kernels import conv

    try:
        if hasattr(conv, "plan"):  # one plan per geometry, a path per direction
            paths = conv.plan("conv2d", (BATCH, size, size, cin), (3, 3, cin, cout), np.float32).paths
            return ", ".join(f"{direction} {path}" for direction, path in paths.items())
        return _conv.kernel_path((BATCH, size, size, cin), (3, 3, cin, cout),
                                 (BATCH, size - 2, size - 2, cout), 1, 1, 1, 1, 0, 0, 1, 4)
    except (AttributeError, TypeError):  # another signature: the plan API changed under us
        return "path not reported"


def _with_path(fn: Callable[[], object], path: str) -> Callable[[], object] | None:
    """fn with a conv path forced, where this minigrad offers a switch (an older build's only
    switch is implicit GEMM on or off)."""
    from minigrad._ext import _conv
    from minigrad.kernels import conv

    force = getattr(conv, "force_path", None)
    switch = getattr(_conv, "use_implicit_gemm", None)
    if force is None and switch is None:
        return None

    def run() -> None:
        previous = force(path) if force else switch(path == "implicit")
        try:
            fn()
        finally:
            force(previous) if force else switch(previous)

    return run


def isa_levels() -> tuple[str | None, list[str]]:
    """(the conv kernels' ISA level, every level this CPU and build can run), where reported."""
    from minigrad._ext import _conv

    if not hasattr(_conv, "isa"):
        return None, []
    usable = min(_conv.ISA_LEVELS.index(_conv.CPU_ISA), _conv.ISA_LEVELS.index(_conv.BUILD_ISA))
    return _conv.isa(), list(_conv.ISA_LEVELS[:usable + 1])


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
    """In one side's process: every layer's fwd and fwd+bwd (+ the sgemm share for minigrad)."""
    out: dict[str, dict[str, Any]] = {}
    for name, cin, cout, size, need_dx in LAYERS:
        flops = _flops(cin, cout, size, need_dx)
        if side.framework == "minigrad":
            cases = _minigrad_layer(cin, cout, size, need_dx)
        else:
            import torch

            cases = _torch_layer(torch, cin, cout, size, need_dx, side.channels_last)
        for kind, fn in cases.items():
            res = harness.time_case(fn, repeat=11)
            out[f"{name} {kind}"] = {**res, "gflops": flops[kind] / res["ms"] / 1e6}
            if side.framework == "minigrad":
                out[f"{name} {kind}"]["path"] = _paths(cin, cout, size)
                im2col = _with_path(fn, "im2col")
                if im2col is not None and "implicit" in out[f"{name} {kind}"]["path"]:
                    # what the implicit GEMM replaces, timed in the same process
                    out[f"{name} {kind}"]["im2col_ms"] = harness.time_case(im2col, repeat=11)["ms"]
    if side.framework == "minigrad":
        out.update(measure_share(side, threads))
    return out


def measure_share(side: harness.Side, threads: int) -> dict[str, dict[str, Any]]:
    """In a minigrad process: the 32->64 layer's fwd+bwd rate by the implicit GEMM over a
    same-process sgemm's. The implicit path is forced: Winograd (on the same register tiles)
    does fewer FLOPs than it is credited with, so its share would say nothing of the tiles."""
    _, cin, cout, size, need_dx = next(layer for layer in LAYERS if layer[0] == SHARE_LAYER)
    layer = _minigrad_layer(cin, cout, size, need_dx)["fwd+bwd"]
    ms = harness.time_case(_with_path(layer, "implicit") or layer, repeat=11)["ms"]
    gflops = _flops(cin, cout, size, need_dx)["fwd+bwd"] / ms / 1e6
    peak = sgemm_gflops(threads)
    from threadpoolctl import threadpool_info

    cores = {i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"}
    return {SHARE_CASE: {"ms": None, "sgemm_gflops": peak, "share": gflops / peak,
                         "blas_core": "/".join(sorted(c for c in cores if c)) or None,
                         "isa": isa_levels()[0], "levels": isa_levels()[1]}}


def _describe(case: str, mine: dict, theirs: dict | None) -> str:
    if "share" in mine:
        core = f", OpenBLAS {mine['blas_core']} kernels" if mine.get("blas_core") else ""
        return (f"implicit GEMM at {100 * mine['share']:.0f}% of a same-process {SGEMM_N}^3 sgemm "
                f"({mine['sgemm_gflops']:.0f} GFLOP/s{core})")
    text = f"{mine['gflops']:.0f} GFLOP/s, {mine['faults']:.0f} faults/call, {mine['path']}"
    if mine.get("im2col_ms"):
        text += f"; im2col + BLAS instead: {table.fmt_ms(mine['im2col_ms'])} ms"
    return text + (f"; torch {theirs['gflops']:.0f} GFLOP/s, {theirs['faults']:.0f} faults/call"
                   if theirs else "")


def _share_row(measured: harness.Rounds, side: str, threads: int) -> dict[str, Any]:
    mine = harness.medians(measured, side, SHARE_CASE)
    level = mine["isa"] or "level not reported"
    r = table.row(GROUP, f"{SHARE_LAYER} fwd+bwd, share of a {SGEMM_N}^3 sgemm, ISA {level} "
                    f"({threads} thr)", None, None, _describe(SHARE_CASE, mine, None))
    r.update(spread=harness.own_spread(measured, SHARE_CASE, "share", side=side), side=None,
             base_case=SHARE_CASE, load=harness.load_range(measured.loads))
    if threads == 1 and (mine["isa"] is None or mine["isa"] in FLOOR_LEVELS):
        table.add_check(r, f"conv 32->64 fwd+bwd / sgemm, 1 thread, ISA {level}",
                        mine["share"], floor=SHARE_FLOOR)
    return r


def run(threads: int) -> list[dict[str, Any]]:
    """Rows: 3 layers x (fwd, fwd+bwd) x torch setups, and the 32->64 layer's share of sgemm
    (on one thread: at every ISA level this CPU and build run, each in processes of its own)."""
    rows, measured = harness.compare(__name__, GROUP, threads, describe=_describe)
    rows = [r for r in rows if r["base_case"] != SHARE_CASE] + [_share_row(measured, "minigrad", threads)]
    for r in rows:
        if r["base_case"].endswith("fwd+bwd") and r["side"] == harness.TORCH_BEST.name:
            name = r["base_case"].split(" ", 1)[1].removesuffix(" fwd+bwd")  # "32->64 13x13"
            r["readme"] = f"conv {name.replace('->', '→').replace('x', '×')}, fwd+bwd"
    chosen = harness.medians(measured, "minigrad", SHARE_CASE)
    others = [level for level in chosen["levels"] if level != chosen["isa"]] if threads == 1 else []
    if others:
        sides = [harness.Side(f"minigrad-{level}", "minigrad", f"minigrad, MINIGRAD_ISA={level}",
                              env={"MINIGRAD_ISA": level, "OPENBLAS_CORETYPE": OPENBLAS_CORE[level]},
                              entry="measure_share") for level in others if level in OPENBLAS_CORE]
        extra = harness.alternate(__name__, sides, threads, harness.rounds(5))
        rows += [_share_row(extra, side.name, threads) for side in sides]
    return rows


if __name__ == "__main__":
    harness.standalone(run)

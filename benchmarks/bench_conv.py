"""The reference CNN's three conv layers at batch 64 (3x3 valid, NHWC), minigrad vs PyTorch CPU.

For each layer: forward and forward+backward (dw and db always; dx for layers 2 and 3 only, as in
training where the images need no gradient), median ms, GFLOP/s, minor page faults per call, and the
ratio to torch in the same process with the same thread count: NCHW as it comes, channels_last, and
channels_last after telling glibc to keep freed memory (mallopt, the runtime twin of
MALLOC_MMAP_THRESHOLD_/MALLOC_MMAP_MAX_/MALLOC_TRIM_THRESHOLD_), which is torch's strongest setup
here; minigrad is re-measured under that setting too so both sides share the allocator. A numpy
sgemm (2048^3) gives the machine's single-precision GEMM throughput; the 32->64 layer's fwd+bwd
rate is reported as a fraction of it. Targets: fwd+bwd ratio <= 1.0 vs the strongest torch on every
layer, 32->64 >= 60% of sgemm.
"""
from __future__ import annotations

import resource
import statistics
import time
from typing import Any, Callable

import numpy as np

from benchmarks import harness

GROUP = "conv"
BLAS_PATH = "minigrad, im2col + BLAS"
BATCH = 64
LAYERS = [  # (name, in_channels, filters, size, need_dx)
    ("conv1 1->32 28x28", 1, 32, 28, False),
    ("conv2 32->64 13x13", 32, 64, 13, True),
    ("conv3 64->64 5x5", 64, 64, 5, True),
]


def _faults_per_call(fn: Callable[[], object], calls: int = 20) -> float:
    fn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def sgemm_gflops(threads: int) -> float:
    """numpy float32 matmul throughput (GFLOP/s) with `threads` BLAS threads."""
    from threadpoolctl import threadpool_limits

    n = 1024 if harness.quick() else 2048
    a, b = np.random.rand(n, n).astype(np.float32), np.random.rand(n, n).astype(np.float32)
    c = np.empty((n, n), np.float32)
    with threadpool_limits(threads, user_api="blas"):
        np.matmul(a, b, out=c)
        best = min(_interleaved_ms([lambda: np.matmul(a, b, out=c)])[0] for _ in range(3))
    return 2 * n**3 / best / 1e6  # a peak: the best of three medians


def _minigrad_cases(cin: int, cout: int, size: int, need_dx: bool,
                    implicit: bool = True) -> dict[str, Callable]:
    """implicit=False: the same calls with the implicit GEMM off (im2col + BLAS), for comparison."""
    from minigrad.kernels import conv2d_backward, conv2d_forward
    from minigrad.kernels.conv import force_path

    rng = np.random.default_rng(0)
    x = rng.random((BATCH, size, size, cin), dtype=np.float32)
    w = rng.standard_normal((3, 3, cin, cout), dtype=np.float32) * 0.1
    b = np.zeros(cout, np.float32)
    dy = rng.standard_normal((BATCH, size - 2, size - 2, cout), dtype=np.float32)

    def fwd() -> None:
        previous = force_path(None if implicit else "im2col")
        conv2d_forward(x, w, b)
        force_path(previous)

    def fwd_bwd() -> None:
        previous = force_path(None if implicit else "im2col")
        conv2d_forward(x, w, b)
        conv2d_backward(dy, x, w, need_dx=need_dx)
        force_path(previous)

    return {"fwd": fwd, "fwd+bwd": fwd_bwd}


def _path(cin: int, cout: int, size: int) -> str:
    from minigrad.kernels.conv import plan

    return plan("conv2d", (BATCH, size, size, cin), (3, 3, cin, cout), np.float32).paths["forward"]


def _torch_cases(torch: Any, cin: int, cout: int, size: int, need_dx: bool,
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


def _flops(cin: int, cout: int, size: int, need_dx: bool) -> dict[str, float]:
    fwd = 2.0 * BATCH * (size - 2) ** 2 * cout * 9 * cin
    return {"fwd": fwd, "fwd+bwd": fwd * (3 if need_dx else 2)}


def _interleaved_ms(fns: list[Callable[[], object]], rounds: int = 5, calls: int = 7) -> list[float]:
    """Median ms per call of each fn, measured in alternating blocks of `calls` calls.

    Blocks rather than single calls, with a pause between them: torch and minigrad each bring an
    OpenMP runtime whose idle threads spin for a while after a parallel region, and a call made
    while the other library's threads still spin runs up to 10x slower on 2 cores. Alternating the
    blocks still lets both sides see the same background load on this shared machine.
    """
    if harness.quick():
        rounds, calls = 2, 3
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, out in zip(fns, samples):
            time.sleep(0.05)  # let the other runtime's spinning threads go to sleep
            fn()  # the first call of a block wakes this runtime's threads: not timed
            for _ in range(calls):
                start = time.perf_counter()
                fn()
                out.append((time.perf_counter() - start) * 1e3)
    return [statistics.median(s) for s in samples]


def _measure(cases: list[dict[str, Callable]]) -> list[dict[str, tuple[float, float]]]:
    """For each kind (fwd, fwd+bwd): interleaved medians and page faults of every setup's case."""
    out: list[dict[str, tuple[float, float]]] = [{} for _ in cases]
    for kind in cases[0]:
        times = _interleaved_ms([c[kind] for c in cases])
        for res, c, ms in zip(out, cases, times):
            res[kind] = (ms, _faults_per_call(c[kind]))
    return out


def run(threads: int) -> list[dict]:
    """Rows for the three layers x (fwd, fwd+bwd) x torch setups, plus the sgemm reference."""
    from minigrad.threads import set_num_threads

    set_num_threads(threads)
    torch = harness.torch_or_none()
    peak = sgemm_gflops(threads)
    rows = [harness.row(GROUP, "numpy sgemm 2048^3", None, None, f"{peak:.0f} GFLOP/s")]
    setups = [("NCHW", False), ("channels_last", True)]
    results: dict[tuple, tuple] = {}
    for phase in ("default malloc", "kept malloc"):
        if phase == "kept malloc" and not harness.keep_freed_memory():
            break
        for name, cin, cout, size, need_dx in LAYERS:
            labels = ["minigrad"] + [label for label, _ in setups] * (torch is not None)
            cases = [_minigrad_cases(cin, cout, size, need_dx)] + [
                _torch_cases(torch, cin, cout, size, need_dx, cl)
                for _, cl in (setups if torch is not None else [])]
            if phase == "kept malloc" and _path(cin, cout, size) == "implicit":
                labels.append(BLAS_PATH)  # what the implicit GEMM replaced, measured beside it
                cases.append(_minigrad_cases(cin, cout, size, need_dx, implicit=False))
            for label, measured in zip(labels, _measure(cases)):
                results[(phase, name, label)] = measured
        setups = [("channels_last", True)]
    for (phase, name, who), measured in results.items():
        if not who.startswith("minigrad"):
            continue
        _, cin, cout, size, need_dx = next(layer for layer in LAYERS if layer[0] == name)
        flops = _flops(cin, cout, size, need_dx)
        path = "im2col + BLAS" if who == BLAS_PATH else _path(cin, cout, size)
        for kind, (ms, faults) in measured.items():
            gflops = flops[kind] / ms / 1e6
            extra = f"{gflops:.0f} GFLOP/s, {faults:.0f} faults/call, {path} kernels"
            if name.startswith("conv2") and kind == "fwd+bwd":
                extra += f", {100 * gflops / peak:.0f}% of sgemm"
            labels = [k[2] for k in results
                      if k[:2] == (phase, name) and not k[2].startswith("minigrad")]
            for label in labels or [None]:
                t_ms, t_faults = results[(phase, name, label)][kind] if label else (None, None)
                case = f"{name} {kind} vs torch {label or '-'} ({phase})"
                if who == BLAS_PATH:
                    case = f"{name} {kind}, implicit GEMM off, vs torch {label or '-'} ({phase})"
                more = f", torch {t_faults:.0f} faults/call" if label else ""
                rows.append(harness.row(GROUP, case, ms, t_ms, extra + more))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(harness.row(GROUP, "peak RSS of this benchmark process", None, None,
                            f"{peak_mib:.0f} MiB (torch included when installed)"))
    return rows


if __name__ == "__main__":
    harness.standalone(run)

"""Thread control for the OpenMP kernels and the BLAS libraries beside them.

Policy: minigrad parallelises inside its own kernels (OpenMP, over batch chunks) and runs BLAS
single-threaded by default. OpenBLAS's worker threads busy-wait after every call; on a 2-core
machine a second spinning pool next to the OpenMP threads made the reference CNN's 2-thread
training step several times slower than the 1-thread one (an ad-hoc measurement under load, before
this policy; `python -m benchmarks.bench_model --threads 1,2` shows the steps as they are now).
Pass `blas=n` when a model is dominated by large Dense layers.
"""
from __future__ import annotations

import os

from minigrad._ext import _parallel

_ENV = "MINIGRAD_NUM_THREADS"
_blas_threads = 1
_blas_limiter = None


def _positive_int(raw: str, name: str) -> int:
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{name} must be a positive integer, received {raw!r}")
    return n


def _default_threads() -> int:
    raw = os.environ.get(_ENV)
    if raw is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return _positive_int(raw, _ENV)


def get_num_threads() -> int:
    """Threads used by minigrad's kernels (OpenMP)."""
    return _parallel.num_threads()


def get_blas_threads() -> int:
    """Threads BLAS calls may use (1 unless set_num_threads(..., blas=n) said otherwise)."""
    return _blas_threads


def set_num_threads(n: int, *, blas: int = 1) -> None:
    """Use n OpenMP threads in the kernels and `blas` threads in BLAS calls (threadpoolctl)."""
    global _blas_threads
    for name, value in (("n", n), ("blas", blas)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"set_num_threads: {name} must be a positive int, received {value!r}")
    _parallel.set_threads(n)
    _blas_threads = blas
    limit_blas()


def limit_blas() -> None:
    """Apply the BLAS thread count to every BLAS library loaded so far (scipy's loads lazily)."""
    global _blas_limiter
    from threadpoolctl import threadpool_limits  # imported on use: ~3 ms

    _blas_limiter = threadpool_limits(limits=_blas_threads, user_api="blas")


def openmp_available() -> bool:
    """True when the kernels were compiled with OpenMP."""
    return _parallel.openmp_available()


def _tune_allocator() -> bool:
    # Every step allocates the same large activations and gradients. glibc serves blocks over its
    # (dynamic) mmap threshold with fresh pages and returns freed heap tops to the OS, so each step
    # first-touches ~4,000 new pages (~1.6 us each here). Compare
    # `MINIGRAD_MALLOC_TUNING=0 python -m benchmarks.bench_model --threads 1` with the plain run.
    # Values as PyTorch recommends; the user's own MALLOC_* settings win.
    if os.environ.get("MINIGRAD_MALLOC_TUNING", "1") == "0" or any(
        k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    ):
        return False
    from minigrad._ext import _memory

    return _memory.keep_freed_memory(32 << 20, 1 << 30)


_parallel.set_threads(_default_threads())
limit_blas()  # numpy's BLAS, loaded already; scipy's is limited by _blas.load() when it loads
allocator_tuned = _tune_allocator()

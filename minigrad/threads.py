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
import warnings

from minigrad import validation
from minigrad._ext import _parallel

_ENV = "MINIGRAD_NUM_THREADS"
_blas_threads = 1
_blas_limiter = None


_MAX_THREADS = 4096  # beyond any machine minigrad runs on; larger values are typos (and overflow C int)
_warned_oversubscribed = False


class ThreadWarning(RuntimeWarning):
    """A thread setting was ignored or exceeds the usable cores."""


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _default_threads() -> int:
    """$MINIGRAD_NUM_THREADS when it is a usable count, else (with a warning) every usable core."""
    raw = os.environ.get(_ENV)
    if raw is None:
        return usable_cores()
    try:
        n = int(raw.strip())
    except ValueError:
        n = 0
    if not 1 <= n <= _MAX_THREADS:
        warnings.warn(f"{_ENV}={raw!r} is not a thread count (an integer from 1 to {_MAX_THREADS}); "
                      f"using the default, {usable_cores()} (the usable cores). Unset it or fix it",
                      ThreadWarning, stacklevel=2)
        return usable_cores()
    return n


def _warn_oversubscribed(n: int, source: str) -> None:
    """Once per process: more threads than cores makes every kernel wait for descheduled threads."""
    global _warned_oversubscribed
    cores = usable_cores()
    if n > cores and not _warned_oversubscribed:
        _warned_oversubscribed = True
        warnings.warn(f"{source}: {n} threads on {cores} usable cores oversubscribes them and slows every "
                      f"step; use at most {cores}", ThreadWarning, stacklevel=3)


def get_num_threads() -> int:
    """Threads used by minigrad's kernels (OpenMP)."""
    return _parallel.num_threads()


def get_blas_threads() -> int:
    """Threads BLAS calls may use (1 unless set_num_threads(..., blas=n) said otherwise)."""
    return _blas_threads


def set_num_threads(n: int, *, blas: int = 1) -> None:
    """Use n OpenMP threads in the kernels and `blas` threads in BLAS calls (threadpoolctl)."""
    global _blas_threads
    n = validation.integer(n, "set_num_threads", "n", low=1, high=_MAX_THREADS)
    blas = validation.integer(blas, "set_num_threads", "blas", low=1, high=_MAX_THREADS)
    _warn_oversubscribed(max(n, blas), f"set_num_threads({n}, blas={blas})")
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
    # first-touches ~4,000 new pages (~1.6 us each here); blocks over 32 MiB (glibc's highest
    # threshold) always would, hence no mmap at all and a trim threshold of 1 GiB. Compare
    # `MINIGRAD_MALLOC_TUNING=0 python -m benchmarks.bench_model --threads 1` with the plain run.
    # PyTorch's recommended MALLOC_* values have the same effect; the user's own MALLOC_* win.
    if os.environ.get("MINIGRAD_MALLOC_TUNING", "1") == "0" or any(
        k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_MAX_")
    ):
        return False
    from minigrad._ext import _memory

    return _memory.keep_freed_memory(1 << 30)


_parallel.set_threads(_default_threads())
_warn_oversubscribed(_parallel.num_threads(), _ENV)
limit_blas()  # numpy's BLAS, loaded already; scipy's is limited by _blas.load() when it loads
allocator_tuned = _tune_allocator()

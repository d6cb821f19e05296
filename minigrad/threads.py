"""Thread control for both the OpenMP kernels and the BLAS library behind them."""
from __future__ import annotations

import os

from minigrad._ext import _parallel

_ENV = "MINIGRAD_NUM_THREADS"
_blas_limiter = None


def _default_threads() -> int:
    raw = os.environ.get(_ENV)
    if raw is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"{_ENV} must be a positive integer, received {raw!r}") from None
    if n < 1:
        raise ValueError(f"{_ENV} must be a positive integer, received {raw!r}")
    return n


def get_num_threads() -> int:
    """Threads used by minigrad's kernels (OpenMP) and BLAS calls."""
    return _parallel.num_threads()


def set_num_threads(n: int) -> None:
    """Use n threads for the OpenMP kernels and for BLAS (through threadpoolctl)."""
    global _blas_limiter
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, received {n!r}")
    _parallel.set_threads(n)
    from threadpoolctl import threadpool_limits  # imported on use: keeps `import minigrad` light

    from minigrad._ext import _blas

    _blas.load()  # scipy's BLAS loads lazily; threadpoolctl only limits libraries already loaded
    _blas_limiter = threadpool_limits(limits=n, user_api="blas")


def openmp_available() -> bool:
    """True when the kernels were compiled with OpenMP."""
    return _parallel.openmp_available()


def _apply_environment() -> None:
    n = _default_threads()
    _parallel.set_threads(n)
    if _ENV in os.environ:
        # BLAS libraries loaded later (scipy's, on the first conv) read this when they load;
        # numpy's, already loaded, is limited through threadpoolctl
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(n))
        from threadpoolctl import threadpool_limits

        global _blas_limiter
        _blas_limiter = threadpool_limits(limits=n, user_api="blas")


_apply_environment()

"""The one module that knows whether OpenMP exists; everything else asks it for a thread count."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int mg_openmp_available(void) { return 1; }
    static int mg_omp_max_threads(void) { return omp_get_max_threads(); }
    static void mg_omp_set_threads(int n) { omp_set_num_threads(n); }
    #else
    static int mg_openmp_available(void) { return 0; }
    static int mg_omp_max_threads(void) { return 1; }
    static void mg_omp_set_threads(int n) { (void)n; }
    #endif
    """
    int mg_openmp_available() nogil
    int mg_omp_max_threads() nogil
    void mg_omp_set_threads(int n) nogil

cdef int _n_threads = 1


def openmp_available() -> bool:
    """True when the extensions were compiled with OpenMP."""
    return bool(mg_openmp_available())


def num_threads() -> int:
    """Threads the kernels use (1 when built without OpenMP)."""
    return _n_threads


def set_threads(int n) -> None:
    """Set the kernels' thread count; callers validate n (see minigrad.threads)."""
    global _n_threads
    _n_threads = n if mg_openmp_available() else 1
    mg_omp_set_threads(_n_threads)

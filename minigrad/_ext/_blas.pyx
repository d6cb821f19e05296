"""Row-major sgemm/dgemm over scipy's BLAS: the only module that reaches scipy.linalg.cython_blas.

BLAS is column-major; a row-major C = op(A) @ op(B) is the column-major C^T = op(B)^T @ op(A)^T, so
the wrappers swap the operands (and m/n) instead of transposing any data.

The function pointers are fetched from scipy's C-API capsules on first use rather than through
`cimport`: a cimport imports scipy.linalg when this module loads, which alone costs ~200 ms and
would triple `import minigrad`.
"""
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer

ctypedef void (*sgemm_t)(char*, char*, int*, int*, int*, float*, float*, int*, float*, int*,
                         float*, float*, int*) noexcept nogil
ctypedef void (*dgemm_t)(char*, char*, int*, int*, int*, double*, double*, int*, double*, int*,
                         double*, double*, int*) noexcept nogil

cdef sgemm_t sgemm = NULL
cdef dgemm_t dgemm = NULL


cdef void* _capsule_pointer(dict capi, str name) except NULL:
    capsule = capi[name]
    return PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


def load() -> None:
    """Resolve sgemm/dgemm from scipy (idempotent; kernels call it before releasing the GIL)."""
    global sgemm, dgemm
    if sgemm != NULL and dgemm != NULL:
        return
    from scipy.linalg import cython_blas

    capi = cython_blas.__pyx_capi__
    dgemm = <dgemm_t>_capsule_pointer(capi, "dgemm")
    sgemm = <sgemm_t>_capsule_pointer(capi, "sgemm")
    from minigrad.threads import limit_blas

    limit_blas()  # the library just loaded starts with one thread per core


cdef bint _ensure() noexcept nogil:
    # normally a no-op: the Python wrappers call load() before any kernel runs
    if sgemm != NULL and dgemm != NULL:
        return True
    with gil:
        try:
            load()
        except Exception as e:  # scipy missing or broken: nothing can be computed
            import warnings
            warnings.warn(f"minigrad: cannot load BLAS from scipy: {e}", RuntimeWarning)
            return False
    return True


cdef void sgemm_rm(bint trans_a, bint trans_b, int m, int n, int k, float alpha,
                   const float* a, int lda, const float* b, int ldb,
                   float beta, float* c, int ldc) noexcept nogil:
    cdef char ta = b"T" if trans_a else b"N"
    cdef char tb = b"T" if trans_b else b"N"
    if m <= 0 or n <= 0 or not _ensure():
        return
    sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*>b, &ldb, <float*>a, &lda, &beta, c, &ldc)


cdef void dgemm_rm(bint trans_a, bint trans_b, int m, int n, int k, double alpha,
                   const double* a, int lda, const double* b, int ldb,
                   double beta, double* c, int ldc) noexcept nogil:
    cdef char ta = b"T" if trans_a else b"N"
    cdef char tb = b"T" if trans_b else b"N"
    if m <= 0 or n <= 0 or not _ensure():
        return
    dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>b, &ldb, <double*>a, &lda, &beta, c, &ldc)


def gemm_rowmajor(const floating[:, ::1] a, const floating[:, ::1] b, floating[:, ::1] c,
                  bint trans_a=False, bint trans_b=False, double alpha=1.0, double beta=0.0) -> None:
    """c = alpha * op(a) @ op(b) + beta * c on C-contiguous arrays (for tests; shapes checked here)."""
    cdef int m = a.shape[1] if trans_a else a.shape[0]
    cdef int k = a.shape[0] if trans_a else a.shape[1]
    cdef int kb = b.shape[1] if trans_b else b.shape[0]
    cdef int n = b.shape[0] if trans_b else b.shape[1]
    if kb != k or c.shape[0] != m or c.shape[1] != n:
        raise ValueError(
            f"gemm_rowmajor: op(a) is ({m}, {k}), op(b) is ({kb}, {n}), c is "
            f"({c.shape[0]}, {c.shape[1]}); expected inner sizes to match and c of shape ({m}, {n})"
        )
    load()
    if k == 0:
        for i in range(m):
            for j in range(n):
                c[i, j] = <floating>(beta * c[i, j])
        return
    with nogil:
        gemm(trans_a, trans_b, m, n, k, <floating>alpha, &a[0, 0], a.shape[1], &b[0, 0], b.shape[1],
             <floating>beta, &c[0, 0], c.shape[1])

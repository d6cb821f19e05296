# Row-major GEMM for the other kernels: cimport gemm from here, never scipy's cython_blas directly.
from cython cimport floating

cdef void sgemm_rm(bint trans_a, bint trans_b, int m, int n, int k, float alpha,
                   const float* a, int lda, const float* b, int ldb,
                   float beta, float* c, int ldc) noexcept nogil
cdef void dgemm_rm(bint trans_a, bint trans_b, int m, int n, int k, double alpha,
                   const double* a, int lda, const double* b, int ldb,
                   double beta, double* c, int ldc) noexcept nogil


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                      const floating* a, int lda, const floating* b, int ldb,
                      floating beta, floating* c, int ldc) noexcept nogil:
    """C[m, n] = alpha * op(A) @ op(B) + beta * C, all row-major with leading dimensions lda/ldb/ldc."""
    if floating is float:
        sgemm_rm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    else:
        dgemm_rm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

"""2-D max/average pooling kernels over a (B, H, W, K) C-contiguous view.

NHWC is (N, H, W, C) as is; NCHW is viewed as (N*C, H, W, 1). Windows are clipped to the input,
so padded positions never count: max ignores them and average divides by the number of valid
elements (Keras/TensorFlow "same" semantics). Every kernel trusts its caller
(minigrad.kernels.pool): shapes, geometry and output sizes are checked there, and every window
holds at least one valid element.

Max pooling records, per output element, the flat spatial index h * W + w of the first maximum
in row-major window order (strict `>`), so backward is a scatter and ties go to the first one.

The row kernels are C (pool_body.h), compiled for baseline x86-64, AVX2 + FMA and AVX-512 in this
one module (pool_kernels.h: the mechanism of isa.h that every dispatched extension uses); the
import picks the level as they do. The drivers below hand rows (or samples) to threads.
"""
from cython.parallel cimport prange
from cython cimport floating
from libc.stdint cimport int32_t, int64_t
from libc.string cimport memset
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize


cdef extern from "pool_kernels.h":
    ctypedef struct mg_pool_geom:
        int64_t H, W, K, OH, OW
        int64_t pool_h, pool_w, stride_h, stride_w, pad_top, pad_left
    ctypedef struct Kernels "mg_pool_kernels":
        void (*max_row_f32)(const float*, float*, int32_t*, int64_t, const mg_pool_geom*) noexcept nogil
        void (*max_row_f64)(const double*, double*, int32_t*, int64_t, const mg_pool_geom*) noexcept nogil
        int64_t (*max_row_backward_f32)(const float*, const int32_t*, float*, int64_t,
                                        const mg_pool_geom*) noexcept nogil
        int64_t (*max_row_backward_f64)(const double*, const int32_t*, double*, int64_t,
                                        const mg_pool_geom*) noexcept nogil
        void (*avg_row_f32)(const float*, float*, int64_t, const mg_pool_geom*) noexcept nogil
        void (*avg_row_f64)(const double*, double*, int64_t, const mg_pool_geom*) noexcept nogil
        void (*avg_row_backward_f32)(const float*, float*, int64_t, const mg_pool_geom*) noexcept nogil
        void (*avg_row_backward_f64)(const double*, double*, int64_t, const mg_pool_geom*) noexcept nogil
    const void* mg_family_table(int* level) noexcept nogil

include "isa_select.pxi"


ctypedef mg_pool_geom Geom


cdef inline Geom _geom(Py_ssize_t H, Py_ssize_t W, Py_ssize_t K, Py_ssize_t OH, Py_ssize_t OW,
                       int pool_h, int pool_w, int stride_h, int stride_w, int pad_top,
                       int pad_left) noexcept:
    cdef Geom g
    g.H, g.W, g.K, g.OH, g.OW = H, W, K, OH, OW
    g.pool_h, g.pool_w, g.stride_h, g.stride_w = pool_h, pool_w, stride_h, stride_w
    g.pad_top, g.pad_left = pad_top, pad_left
    return g


def max_pool2d_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y, bint with_argmax,
                       int pool_h, int pool_w, int stride_h, int stride_w, int pad_top,
                       int pad_left, int n_threads):
    """Fill y; with_argmax: also return the argmax as int32 in a new bytes object (immutable once
    this returns: the kernel writes every entry before anyone else holds it), else None."""
    cdef Geom g = _geom(x.shape[1], x.shape[2], x.shape[3], y.shape[1], y.shape[2],
                        pool_h, pool_w, stride_h, stride_w, pad_top, pad_left)
    cdef Py_ssize_t task, b, oh
    cdef Py_ssize_t x_step = g.H * g.W * g.K, y_row = g.OW * g.K
    record = None
    if y.shape[0] * g.OH * y_row == 0:
        return b"" if with_argmax else None
    if with_argmax:
        record = PyBytes_FromStringAndSize(NULL, y.shape[0] * g.OH * y_row * sizeof(int32_t))
    cdef const floating* xp = &x[0, 0, 0, 0]
    cdef floating* yp = &y[0, 0, 0, 0]
    cdef int32_t* ap = <int32_t*>PyBytes_AS_STRING(record) if with_argmax else NULL
    for task in prange(x.shape[0] * g.OH, nogil=True, num_threads=n_threads, schedule="static"):
        b = task // g.OH
        oh = task % g.OH
        if floating is float:
            _k.max_row_f32(xp + b * x_step, yp + task * y_row,
                           ap + task * y_row if ap != NULL else NULL, oh, &g)
        else:
            _k.max_row_f64(xp + b * x_step, yp + task * y_row,
                           ap + task * y_row if ap != NULL else NULL, oh, &g)
    return record


def avg_pool2d_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y, int pool_h,
                       int pool_w, int stride_h, int stride_w, int pad_top, int pad_left,
                       int n_threads):
    cdef Geom g = _geom(x.shape[1], x.shape[2], x.shape[3], y.shape[1], y.shape[2],
                        pool_h, pool_w, stride_h, stride_w, pad_top, pad_left)
    cdef Py_ssize_t task, b, oh
    cdef Py_ssize_t x_step = g.H * g.W * g.K, y_row = g.OW * g.K
    cdef const floating* xp = &x[0, 0, 0, 0]
    cdef floating* yp = &y[0, 0, 0, 0]
    for task in prange(x.shape[0] * g.OH, nogil=True, num_threads=n_threads, schedule="static"):
        b = task // g.OH
        oh = task % g.OH
        if floating is float:
            _k.avg_row_f32(xp + b * x_step, yp + task * y_row, oh, &g)
        else:
            _k.avg_row_f64(xp + b * x_step, yp + task * y_row, oh, &g)


cdef inline Py_ssize_t _rows_per_task(const Geom* g) noexcept nogil:
    # Windows of different output rows touch disjoint input rows when stride_h >= pool_h, so each
    # output row can own its slice of dx; otherwise one task owns a whole sample (no write races).
    # With one channel (channels_first planes) a row is too little work for a task: whole planes.
    if g.stride_h >= g.pool_h and g.K > 1:
        return 1
    return g.OH if g.OH > 0 else 1


cdef inline Py_ssize_t _own_lo(Py_ssize_t oh0, const Geom* g) noexcept nogil:
    """First input row owned by output rows starting at oh0 (see _own_hi)."""
    cdef Py_ssize_t lo = oh0 * g.stride_h - g.pad_top
    return 0 if oh0 == 0 else (lo if lo > 0 else 0)


cdef inline Py_ssize_t _own_hi(Py_ssize_t oh1, const Geom* g) noexcept nogil:
    """End of the input rows owned by output rows ending at oh1: their windows plus rows no window
    covers (gaps when stride > pool, the bottom remainder), so zeroing them all clears dx."""
    cdef Py_ssize_t hi = oh1 * g.stride_h - g.pad_top
    return g.H if oh1 >= g.OH else (hi if hi < g.H else g.H)


def max_pool2d_backward(const floating[:, :, :, ::1] dy, const int32_t[:, :, :, ::1] argmax,
                        floating[:, :, :, ::1] dx, int pool_h, int pool_w, int stride_h,
                        int stride_w, int pad_top, int pad_left, int n_threads):
    """dx[b, argmax[b, oh, ow, k], k] += dy[b, oh, ow, k]; all other dx are 0.

    Returns how many argmax entries were skipped: outside [0, H * W), or (windows that do not
    overlap, written a vector at a time) outside their own window; 0 for the forward's record.
    """
    cdef Geom g = _geom(dx.shape[1], dx.shape[2], dx.shape[3], dy.shape[1], dy.shape[2],
                        pool_h, pool_w, stride_h, stride_w, pad_top, pad_left)
    cdef Py_ssize_t rows = _rows_per_task(&g)
    cdef Py_ssize_t blocks = (g.OH + rows - 1) // rows if g.OH > 0 else 1
    cdef Py_ssize_t task, b, oh0, oh1, r0 = 0, r1 = 0, i, c, K = g.K, bad = 0, hw = g.H * g.W
    cdef int32_t a
    cdef Py_ssize_t x_step = g.H * g.W * K, row_len = g.W * K, y_row = g.OW * K
    cdef bint disjoint = rows == 1 and g.stride_w >= g.pool_w  # each dx in one window at most
    cdef floating* dxp = &dx[0, 0, 0, 0]
    cdef const floating* dyp = &dy[0, 0, 0, 0]
    cdef const int32_t* ap = &argmax[0, 0, 0, 0]
    cdef floating* dxs
    cdef const floating* g_row
    cdef const int32_t* a_row
    for task in prange(dx.shape[0] * blocks, nogil=True, num_threads=n_threads,
                       schedule="static"):
        b = task // blocks
        oh0 = (task % blocks) * rows
        oh1 = oh0 + rows if oh0 + rows < g.OH else g.OH
        r0 = _own_lo(oh0, &g)
        r1 = _own_hi(oh1, &g)
        dxs = dxp + b * x_step
        memset(dxs + r0 * row_len, 0, (r1 - r0) * row_len * sizeof(floating))
        g_row = dyp + (b * g.OH + oh0) * y_row
        a_row = ap + (b * g.OH + oh0) * y_row
        if disjoint:
            if floating is float:
                bad += _k.max_row_backward_f32(g_row, a_row, dxs, oh0, &g)
            else:
                bad += _k.max_row_backward_f64(g_row, a_row, dxs, oh0, &g)
            continue
        for i in range((oh1 - oh0) * g.OW):
            if K == 1:
                a = a_row[i]
                if a < 0 or a >= hw:
                    bad += 1
                else:
                    dxs[a] += g_row[i]
                continue
            for c in range(K):
                a = a_row[i * K + c]
                if a < 0 or a >= hw:  # argmax is user-visible: never write out of bounds
                    bad += 1
                else:
                    dxs[a * K + c] += g_row[i * K + c]
    return bad


def avg_pool2d_backward(const floating[:, :, :, ::1] dy, floating[:, :, :, ::1] dx, int pool_h,
                        int pool_w, int stride_h, int stride_w, int pad_top, int pad_left,
                        int n_threads):
    """Each dy spreads evenly over the valid elements of its window."""
    cdef Geom g = _geom(dx.shape[1], dx.shape[2], dx.shape[3], dy.shape[1], dy.shape[2],
                        pool_h, pool_w, stride_h, stride_w, pad_top, pad_left)
    cdef Py_ssize_t rows = _rows_per_task(&g)
    cdef Py_ssize_t blocks = (g.OH + rows - 1) // rows if g.OH > 0 else 1
    cdef Py_ssize_t task, b, oh0, oh1, oh, r0 = 0, r1 = 0, K = g.K
    cdef Py_ssize_t x_step = g.H * g.W * K, row_len = g.W * K, y_row = g.OW * K
    cdef floating* dxp = &dx[0, 0, 0, 0]
    cdef const floating* dyp = &dy[0, 0, 0, 0]
    for task in prange(dx.shape[0] * blocks, nogil=True, num_threads=n_threads,
                       schedule="static"):
        b = task // blocks
        oh0 = (task % blocks) * rows
        oh1 = oh0 + rows if oh0 + rows < g.OH else g.OH
        r0 = _own_lo(oh0, &g)
        r1 = _own_hi(oh1, &g)
        memset(dxp + b * x_step + r0 * row_len, 0, (r1 - r0) * row_len * sizeof(floating))
        for oh in range(oh0, oh1):
            if floating is float:
                _k.avg_row_backward_f32(dyp + (b * g.OH + oh) * y_row, dxp + b * x_step, oh, &g)
            else:
                _k.avg_row_backward_f64(dyp + (b * g.OH + oh) * y_row, dxp + b * x_step, oh, &g)

"""2-D max/average pooling kernels over a (B, H, W, K) C-contiguous view.

NHWC is (N, H, W, C) as is; NCHW is viewed as (N*C, H, W, 1). Windows are clipped to the input,
so padded positions never count: max ignores them and average divides by the number of valid
elements (Keras/TensorFlow "same" semantics). Every kernel trusts its caller
(minigrad.kernels.pool): shapes, geometry and output sizes are checked there, and every window
holds at least one valid element.

Max pooling records, per output element, the flat spatial index h * W + w of the first maximum
in row-major window order (strict `>`), so backward is a scatter and ties go to the first one.
"""
from cython.parallel cimport prange
from cython cimport floating
from libc.stdint cimport int32_t
from libc.string cimport memset


cdef struct Geom:
    Py_ssize_t H, W, K, OH, OW
    Py_ssize_t pool_h, pool_w, stride_h, stride_w, pad_top, pad_left


cdef inline Geom _geom(Py_ssize_t H, Py_ssize_t W, Py_ssize_t K, Py_ssize_t OH, Py_ssize_t OW,
                       int pool_h, int pool_w, int stride_h, int stride_w, int pad_top,
                       int pad_left) noexcept:
    cdef Geom g
    g.H, g.W, g.K, g.OH, g.OW = H, W, K, OH, OW
    g.pool_h, g.pool_w, g.stride_h, g.stride_w = pool_h, pool_w, stride_h, stride_w
    g.pad_top, g.pad_left = pad_top, pad_left
    return g


cdef inline void _span(Py_ssize_t o, Py_ssize_t stride, Py_ssize_t pad, Py_ssize_t pool,
                       Py_ssize_t n, Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    """The inputs [lo, hi) under output o's window along one axis of length n (clipped: see top)."""
    cdef Py_ssize_t start = o * stride - pad
    lo[0] = start if start > 0 else 0
    hi[0] = start + pool if start + pool < n else n


cdef inline int32_t _pick(bint take, int32_t a, int32_t b) noexcept nogil:
    """take ? a : b as a mask blend: an int32 select under a float compare stays a branch on
    baseline x86-64 (SSE2 has no such blend), which kept max pooling scalar without -march=native."""
    cdef int32_t mask = -<int32_t>take
    return (a & mask) | (b & ~mask)


cdef inline void _max_window(const floating* xs, floating* yo, int32_t* ao, Py_ssize_t h0,
                             Py_ssize_t h1, Py_ssize_t w0, Py_ssize_t w1, Py_ssize_t W) noexcept nogil:
    """One clipped window of a one-channel plane, kept in registers."""
    cdef Py_ssize_t h, w
    cdef int32_t best = <int32_t>(h0 * W + w0), pos
    cdef floating m = xs[best], v
    cdef bint take
    for h in range(h0, h1):
        for w in range(w0, w1):
            pos = <int32_t>(h * W + w)
            v = xs[pos]
            take = v > m  # selects, not branches: random data mispredicts half the time
            best = pos if take else best
            m = v if take else m
    yo[0] = m
    ao[0] = best


cdef inline void _max_row_plane(const floating* xs, floating* yrow, int32_t* arow, Py_ssize_t h0,
                                Py_ssize_t h1, const Geom* g) noexcept nogil:
    """K == 1 (channels_first planes): windows that lie fully inside the row are swept offset by
    offset in row-major order with the output columns innermost (a loop the compiler vectorizes);
    the clipped windows at either edge go one by one."""
    cdef Py_ssize_t W = g.W, OW = g.OW, sw = g.stride_w, pl = g.pad_left, pw = g.pool_w
    cdef Py_ssize_t lo = (pl + sw - 1) // sw, hi = (W + pl - pw) // sw + 1 if W + pl >= pw else 0
    cdef Py_ssize_t ow, h, dw, base, w0, w1
    cdef int32_t pos
    cdef floating v, m
    hi = hi if hi < OW else OW
    lo = lo if lo < hi else hi
    for ow in range(OW):
        if ow < lo or ow >= hi:
            _span(ow, sw, pl, pw, W, &w0, &w1)
            _max_window(xs, yrow + ow, arow + ow, h0, h1, w0, w1, W)
    for ow in range(lo, hi):
        pos = <int32_t>(h0 * W + ow * sw - pl)
        yrow[ow] = xs[pos]
        arow[ow] = pos
    for h in range(h0, h1):
        for dw in range(pw):
            base = h * W - pl + dw
            for ow in range(lo, hi):
                v = xs[base + ow * sw]  # index in Py_ssize_t: an int32 index blocks vectorizing
                pos = <int32_t>(base + ow * sw)
                m = yrow[ow]
                yrow[ow] = v if v > m else m
                arow[ow] = _pick(v > m, pos, arow[ow])


cdef inline void _max_row(const floating* xs, floating* yrow, int32_t* arow, Py_ssize_t oh,
                          const Geom* g) noexcept nogil:
    """One output row of one sample: y[oh, :, :] and its argmax."""
    cdef Py_ssize_t K = g.K, W = g.W
    cdef Py_ssize_t h0, h1, ow, w0, w1, h, w, c
    cdef int32_t pos, first
    cdef floating v, m
    cdef floating* yo
    cdef int32_t* ao
    cdef const floating* src
    _span(oh, g.stride_h, g.pad_top, g.pool_h, g.H, &h0, &h1)
    if K == 1:
        _max_row_plane(xs, yrow, arow, h0, h1, g)
        return
    for ow in range(g.OW):
        _span(ow, g.stride_w, g.pad_left, g.pool_w, W, &w0, &w1)
        yo = yrow + ow * K
        ao = arow + ow * K
        first = <int32_t>(h0 * W + w0)
        src = xs + first * K
        for c in range(K):
            yo[c] = src[c]
            ao[c] = first
        for h in range(h0, h1):
            for w in range(w0, w1):
                pos = <int32_t>(h * W + w)
                if pos == first:
                    continue
                src = xs + pos * K
                # unconditional stores of blends: lets the compiler vectorize over channels
                for c in range(K):
                    v = src[c]
                    m = yo[c]
                    yo[c] = v if v > m else m
                    ao[c] = _pick(v > m, pos, ao[c])


cdef inline void _avg_row(const floating* xs, floating* yrow, Py_ssize_t oh,
                          const Geom* g) noexcept nogil:
    """One output row of one sample: mean over the valid part of each window."""
    cdef Py_ssize_t K = g.K, W = g.W
    cdef Py_ssize_t h0, h1, ow, w0, w1, h, w, c
    cdef floating inv
    cdef floating* yo
    cdef const floating* src
    _span(oh, g.stride_h, g.pad_top, g.pool_h, g.H, &h0, &h1)
    for ow in range(g.OW):
        _span(ow, g.stride_w, g.pad_left, g.pool_w, W, &w0, &w1)
        yo = yrow + ow * K
        for c in range(K):
            yo[c] = 0
        for h in range(h0, h1):
            for w in range(w0, w1):
                src = xs + (h * W + w) * K
                for c in range(K):
                    yo[c] = yo[c] + src[c]
        inv = <floating>1 / <floating>((h1 - h0) * (w1 - w0))
        for c in range(K):
            yo[c] = yo[c] * inv


cdef inline void _avg_row_backward(const floating* grow, floating* dxs, Py_ssize_t oh,
                                   const Geom* g) noexcept nogil:
    cdef Py_ssize_t K = g.K, W = g.W
    cdef Py_ssize_t h0, h1, ow, w0, w1, h, w, c
    cdef floating inv
    cdef floating* dst
    cdef const floating* go
    _span(oh, g.stride_h, g.pad_top, g.pool_h, g.H, &h0, &h1)
    for ow in range(g.OW):
        _span(ow, g.stride_w, g.pad_left, g.pool_w, W, &w0, &w1)
        go = grow + ow * K
        inv = <floating>1 / <floating>((h1 - h0) * (w1 - w0))
        for h in range(h0, h1):
            for w in range(w0, w1):
                dst = dxs + (h * W + w) * K
                for c in range(K):
                    dst[c] = dst[c] + go[c] * inv


def max_pool2d_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y,
                       int32_t[:, :, :, ::1] argmax, int pool_h, int pool_w, int stride_h,
                       int stride_w, int pad_top, int pad_left, int n_threads):
    cdef Geom g = _geom(x.shape[1], x.shape[2], x.shape[3], y.shape[1], y.shape[2],
                        pool_h, pool_w, stride_h, stride_w, pad_top, pad_left)
    cdef Py_ssize_t task, b, oh
    cdef Py_ssize_t x_step = g.H * g.W * g.K, y_row = g.OW * g.K
    cdef const floating* xp = &x[0, 0, 0, 0]
    cdef floating* yp = &y[0, 0, 0, 0]
    cdef int32_t* ap = &argmax[0, 0, 0, 0]
    for task in prange(x.shape[0] * g.OH, nogil=True, num_threads=n_threads, schedule="static"):
        b = task // g.OH
        oh = task % g.OH
        _max_row(xp + b * x_step, yp + task * y_row, ap + task * y_row, oh, &g)


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
        _avg_row(xp + b * x_step, yp + task * y_row, oh, &g)


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
                        floating[:, :, :, ::1] dx, int pool_h, int stride_h, int pad_top,
                        int n_threads):
    """dx[b, argmax[b, oh, ow, k], k] += dy[b, oh, ow, k]; all other dx are 0.

    Returns how many argmax entries fell outside [0, H * W) and were skipped (0 when valid).
    """
    cdef Geom g = _geom(dx.shape[1], dx.shape[2], dx.shape[3], dy.shape[1], dy.shape[2],
                        pool_h, 1, stride_h, 1, pad_top, 0)
    cdef Py_ssize_t rows = _rows_per_task(&g)
    cdef Py_ssize_t blocks = (g.OH + rows - 1) // rows if g.OH > 0 else 1
    cdef Py_ssize_t task, b, oh0, oh1, r0 = 0, r1 = 0, i, c, K = g.K, bad = 0, hw = g.H * g.W
    cdef int32_t a
    cdef Py_ssize_t x_step = g.H * g.W * K, row_len = g.W * K, y_row = g.OW * K
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
            _avg_row_backward(dyp + (b * g.OH + oh) * y_row, dxp + b * x_step, oh, &g)

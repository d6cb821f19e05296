"""conv2d on NHWC arrays: im2col + BLAS GEMM, OpenMP across the batch, the GIL released.

Layout: x (N, H, W, C), w (KH, KW, C/groups, F) as Keras stores it, y (N, OH, OW, F). An im2col row
is one output pixel and its columns run (i, j, c), which is exactly w reshaped to (KH*KW*C/groups,
F), so the weights never need a copy and y comes out of the GEMM already in NHWC order.

Threading: the batch is cut into chunks of `images_per_chunk` images handed out dynamically to the
OpenMP threads; each thread builds a chunk's im2col matrix in its own workspace slot (sized by the
caller to stay in L2) and calls a single-threaded GEMM on it. BLAS is never asked to
thread inside the parallel region (the Python wrapper pins BLAS to one thread around these calls).
Why not a parallel im2col and then one big threaded GEMM: measured here (2 cores, OpenBLAS 0.3.30)
the 32->64 layer's whole-batch sgemm (7744 x 288 x 64) reaches 129 GFLOP/s on 2 threads, while
single-threaded chunks of 363-968 rows reach ~93 GFLOP/s per core (~186 together), and the chunk's
im2col never leaves L2.
Weight/bias gradients are summed per thread into private partials and reduced at the end.
Three paths, chosen per call (kernel_path() tells which):
- direct: at most 32 taps (KH*KW*C) and one group; forward and weight gradient skip im2col and run
  vector kernels (conv_kernels.h): such GEMMs are too thin to pay for it.
- implicit: one group, C and F whole 64-byte vectors, an AVX-512 build: the three GEMMs run as
  register-tiled kernels reading x, dy and w in place (conv_kernels.h). On the 32->64 layer
  (python -m benchmarks.bench_conv, the "implicit GEMM off" rows) im2col + OpenBLAS, which packs
  both operands of every chunk's GEMM, took 1.3-1.5x as long for forward+backward (4 runs).
- im2col: everything else, as described above.
The kernels trust their arguments: minigrad.kernels.conv validates every shape first.
"""
from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.string cimport memcpy, memset

from minigrad._ext._blas cimport gemm

cdef extern from "conv_kernels.h":
    void mg_direct_float(const float* x, const float* wblk, const float* b, float* y, const int* g,
                         Py_ssize_t n0, Py_ssize_t n1) nogil
    void mg_direct_double(const double* x, const double* wblk, const double* b, double* y,
                          const int* g, Py_ssize_t n0, Py_ssize_t n1) nogil
    void mg_add_rows_float(float* y, Py_ssize_t rows, int F, const float* b) nogil
    void mg_add_rows_double(double* y, Py_ssize_t rows, int F, const double* b) nogil
    void mg_sum_rows_float(const float* a, Py_ssize_t rows, int F, float* out) nogil
    void mg_sum_rows_double(const double* a, Py_ssize_t rows, int F, double* out) nogil
    void mg_relu_float(float* y, Py_ssize_t n) nogil
    void mg_relu_double(double* y, Py_ssize_t n) nogil
    void mg_add_float(float* dst, const float* src, Py_ssize_t n) nogil
    void mg_add_double(double* dst, const double* src, Py_ssize_t n) nogil
    void mg_direct_dw_float(const float* x, const float* dy, float* dw, const int* g, Py_ssize_t n0,
                            Py_ssize_t n1) nogil
    void mg_direct_dw_double(const double* x, const double* dy, double* dw, const int* g,
                             Py_ssize_t n0, Py_ssize_t n1) nogil
    ctypedef struct mg_ig:
        int Hp, Wp, C, OH, OW, F, KH, KW, sh, sw, dh, dw
    int MG_HAVE_IG
    void mg_ig_forward_float(const float* xp, const float* w, const float* b, float* y,
                             const mg_ig* g, Py_ssize_t nimg) nogil
    void mg_ig_forward_double(const double* xp, const double* w, const double* b, double* y,
                              const mg_ig* g, Py_ssize_t nimg) nogil
    void mg_ig_dweights_float(const float* xp, const float* dy, float* dw, const mg_ig* g,
                              Py_ssize_t nimg) nogil
    void mg_ig_dweights_double(const double* xp, const double* dy, double* dw, const mg_ig* g,
                               Py_ssize_t nimg) nogil
    void mg_ig_dinput_float(const float* dy, const float* wT, float* dxp, const mg_ig* g,
                            Py_ssize_t nimg) nogil
    void mg_ig_dinput_double(const double* dy, const double* wT, double* dxp, const mg_ig* g,
                             Py_ssize_t nimg) nogil


# Up to this many taps (KH*KW*C) a GEMM is too thin to pay for building im2col (the 1->32 layer's
# forward: 0.9 ms via im2col + sgemm, measured with one thread) and the direct kernel runs instead.
cdef enum:
    DIRECT_MAX_TAPS = 32  # also the size of the C kernel's per-pixel tap arrays
    # the implicit GEMM keeps one offset per kernel tap on the (OpenMP worker's) stack: a huge
    # kernel goes to im2col instead of overflowing it
    IMPLICIT_MAX_TAPS = 4096


cdef struct Geom:
    int N, H, W, C, OH, OW, F, KH, KW
    int stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left
    int groups, Cg, Fg, Kg   # Kg = KH*KW*Cg: im2col columns of one group
    int Hp, Wp               # rows and columns the windows span, padding included
    bint padded              # whether they reach outside x (the implicit GEMM then pads a copy)


cdef void im2col(const floating* x, floating* col, Geom* g, int n0, int n1, int grp) noexcept nogil:
    """col[(n, oh, ow), (i, j, c)] = x[n, oh*sh - pt + i*dh, ow*sw - pl + j*dw, grp*Cg + c] or 0."""
    # Tap-major: for one output row and one tap (i, j), walk the output columns. The innermost loop
    # is then the long one (OW, or Cg when channels are many) instead of a 1..3-long copy per pixel.
    cdef Py_ssize_t n, oh, ow, i, j, c, h, Cg = g.Cg, Kg = g.Kg, lo, hi
    cdef Py_ssize_t xs = <Py_ssize_t>g.stride_w * g.C   # x step between output columns
    cdef floating* row
    if g.groups == 1 and g.stride_w == 1 and g.dilation_w == 1:
        _im2col_runs(x, col, g, n0, n1)
        return
    cdef floating* dst
    cdef const floating* src
    for n in range(n0, n1):
        for oh in range(g.OH):
            row = col + ((n - n0) * g.OH + oh) * g.OW * Kg
            for i in range(g.KH):
                h = oh * g.stride_h - g.pad_top + i * g.dilation_h
                for j in range(g.KW):
                    dst = row + (i * g.KW + j) * Cg
                    if h < 0 or h >= g.H:
                        lo = hi = g.OW
                    else:  # output columns whose input column w = ow*sw - pl + j*dw is inside
                        lo, hi = _inside(j * g.dilation_w - g.pad_left, g.stride_w, g.W, g.OW)
                    for ow in range(lo):
                        for c in range(Cg):
                            dst[ow * Kg + c] = 0
                    if lo < hi:  # src starts at output column lo, inside x
                        src = x + (((n * g.H + h) * g.W + lo * g.stride_w + j * g.dilation_w
                                    - g.pad_left) * g.C + grp * Cg)
                        if Cg == 1:
                            for ow in range(lo, hi):
                                dst[ow * Kg] = src[(ow - lo) * xs]
                        else:  # memcpy: the Cython loop ran scalar (dst and src might alias)
                            for ow in range(lo, hi):
                                memcpy(dst + ow * Kg, src + (ow - lo) * xs, Cg * sizeof(floating))
                    for ow in range(hi, g.OW):
                        for c in range(Cg):
                            dst[ow * Kg + c] = 0


cdef inline (Py_ssize_t, Py_ssize_t) _inside(Py_ssize_t offset, Py_ssize_t stride, Py_ssize_t size,
                                             Py_ssize_t count) noexcept nogil:
    """[lo, hi) of k in [0, count) with 0 <= offset + k*stride < size (lo == hi when none)."""
    cdef Py_ssize_t lo = 0, hi
    if offset < 0:
        lo = (-offset + stride - 1) // stride
    hi = (size - offset + stride - 1) // stride if size > offset else 0
    hi = min(max(hi, 0), count)
    lo = min(lo, hi)
    return lo, hi


cdef void col2im(const floating* col, floating* dx, Geom* g, int n0, int n1, int grp) noexcept nogil:
    """dx[n, h, w, grp*Cg + c] += col[(n, oh, ow), (i, j, c)]: the adjoint of im2col, tap-major too."""
    cdef Py_ssize_t n, oh, ow, i, j, c, h, Cg = g.Cg, Kg = g.Kg, lo, hi
    cdef Py_ssize_t xs = <Py_ssize_t>g.stride_w * g.C
    cdef const floating* src
    cdef floating* dst
    if g.groups == 1 and g.stride_w == 1 and g.dilation_w == 1:
        _col2im_runs(col, dx, g, n0, n1)
        return
    for n in range(n0, n1):
        for oh in range(g.OH):
            for i in range(g.KH):
                h = oh * g.stride_h - g.pad_top + i * g.dilation_h
                if h < 0 or h >= g.H:
                    continue
                for j in range(g.KW):
                    lo, hi = _inside(j * g.dilation_w - g.pad_left, g.stride_w, g.W, g.OW)
                    if lo == hi:
                        continue
                    # both pointers start at output column lo, which lies inside the arrays
                    src = col + (((n - n0) * g.OH + oh) * g.OW + lo) * Kg + (i * g.KW + j) * Cg
                    dst = dx + (((n * g.H + h) * g.W + lo * g.stride_w + j * g.dilation_w
                                 - g.pad_left) * g.C + grp * Cg)
                    if Cg == 1:
                        for ow in range(hi - lo):
                            dst[ow * xs] += src[ow * Kg]
                    else:  # vectorised in C (the Cython loop ran scalar: the pointers might alias)
                        for ow in range(hi - lo):
                            if floating is float:
                                mg_add_float(dst + ow * xs, src + ow * Kg, Cg)
                            else:
                                mg_add_double(dst + ow * xs, src + ow * Kg, Cg)


cdef void _im2col_runs(const floating* x, floating* col, Geom* g, int n0, int n1) noexcept nogil:
    """im2col for one group, horizontal stride and dilation 1: a pixel's taps (i, 0..KW-1) are one
    contiguous run of KW*C values in both x and col, copied at once where the window is inside."""
    cdef Py_ssize_t n, oh, ow, i, j, h, w, C = g.C, Kg = g.Kg, run = <Py_ssize_t>g.KW * g.C
    cdef Py_ssize_t a, b, e, skip
    cdef floating* dst
    cdef const floating* src
    a = _inside(-g.pad_left, 1, g.W, g.OW)[0]                 # first column with tap 0 inside
    b = _inside(g.KW - 1 - g.pad_left, 1, g.W, g.OW)[1]       # past the last with tap KW-1 inside
    for n in range(n0, n1):
        for oh in range(g.OH):
            for i in range(g.KH):
                h = oh * g.stride_h - g.pad_top + i * g.dilation_h
                dst = col + ((n - n0) * g.OH + oh) * g.OW * Kg + i * run
                if h < 0 or h >= g.H:
                    for ow in range(g.OW):
                        memset(dst + ow * Kg, 0, run * sizeof(floating))
                    continue
                src = x + (n * g.H + h) * g.W * C  # the row; column w at src + w*C
                for ow in range(a, b):
                    memcpy(dst + ow * Kg, src + (ow - g.pad_left) * C, run * sizeof(floating))
                skip = b - a if b > a else 0
                for e in range(g.OW - skip):  # the columns whose window crosses the border
                    ow = e if e < a else e + skip
                    for j in range(g.KW):
                        w = ow - g.pad_left + j
                        if 0 <= w < g.W:
                            memcpy(dst + ow * Kg + j * C, src + w * C, C * sizeof(floating))
                        else:
                            memset(dst + ow * Kg + j * C, 0, C * sizeof(floating))


cdef void _col2im_runs(const floating* col, floating* dx, Geom* g, int n0, int n1) noexcept nogil:
    """col2im for one group, horizontal stride and dilation 1: contiguous KW*C runs (see above)."""
    cdef Py_ssize_t n, oh, ow, i, j, h, w, C = g.C, Kg = g.Kg, run = <Py_ssize_t>g.KW * g.C
    cdef Py_ssize_t a, b, e, skip
    cdef const floating* src
    cdef floating* dst
    a = _inside(-g.pad_left, 1, g.W, g.OW)[0]
    b = _inside(g.KW - 1 - g.pad_left, 1, g.W, g.OW)[1]
    skip = b - a if b > a else 0
    for n in range(n0, n1):
        for oh in range(g.OH):
            for i in range(g.KH):
                h = oh * g.stride_h - g.pad_top + i * g.dilation_h
                if h < 0 or h >= g.H:
                    continue
                src = col + ((n - n0) * g.OH + oh) * g.OW * Kg + i * run
                dst = dx + (n * g.H + h) * g.W * C
                for ow in range(a, b):
                    _add(dst + (ow - g.pad_left) * C, src + ow * Kg, run)
                for e in range(g.OW - skip):
                    ow = e if e < a else e + skip
                    for j in range(g.KW):
                        w = ow - g.pad_left + j
                        if 0 <= w < g.W:
                            _add(dst + w * C, src + ow * Kg + j * C, C)


cdef inline void _add(floating* dst, const floating* src, Py_ssize_t count) noexcept nogil:
    if floating is float:
        mg_add_float(dst, src, count)
    else:
        mg_add_double(dst, src, count)


cdef tuple _dims(Py_ssize_t* shape):
    return (shape[0], shape[1], shape[2], shape[3])


cdef Geom _geom(tuple xs, tuple ws, tuple ys, int stride_h, int stride_w, int dilation_h,
                int dilation_w, int pad_top, int pad_left, int groups):
    cdef Geom g
    if groups < 1:  # before any division by it
        raise ValueError(f"_conv: groups must be positive, received {groups}")
    g.N, g.H, g.W, g.C = xs
    g.KH, g.KW, g.Cg, g.F = ws
    g.OH, g.OW = ys[1], ys[2]
    g.stride_h, g.stride_w, g.dilation_h, g.dilation_w = stride_h, stride_w, dilation_h, dilation_w
    g.pad_top, g.pad_left, g.groups = pad_top, pad_left, groups
    g.Fg = g.F // groups
    g.Kg = g.KH * g.KW * g.Cg
    g.Hp = (g.OH - 1) * stride_h + (g.KH - 1) * dilation_h + 1
    g.Wp = (g.OW - 1) * stride_w + (g.KW - 1) * dilation_w + 1
    g.padded = pad_top > 0 or pad_left > 0 or g.Hp > g.H or g.Wp > g.W
    if (ys[0] != g.N or ys[3] != g.F or g.Cg * groups != g.C or g.Fg * groups != g.F
            or min(stride_h, stride_w, dilation_h, dilation_w) < 1 or min(pad_top, pad_left) < 0):
        raise ValueError(f"_conv: inconsistent geometry x{xs} w{ws} y{ys} groups={groups}")
    return g


cdef Py_ssize_t _slot(Geom* g, int chunk, Py_ssize_t itemsize) noexcept:
    """Elements of a thread's scratch: the implicit GEMM's padded x and dx, or an im2col chunk."""
    if _path(g, itemsize) == IMPLICIT:
        return 2 * <Py_ssize_t>chunk * g.Hp * g.Wp * g.C
    return <Py_ssize_t>chunk * g.OH * g.OW * g.Kg


cdef Py_ssize_t _check_workspace(Py_ssize_t have, Geom* g, int chunk, int n_threads, bint partials,
                                 Py_ssize_t itemsize) except -1:
    cdef Py_ssize_t need = _workspace_size(g, chunk, n_threads, partials, itemsize)
    if chunk < 1 or n_threads < 1 or have < need:
        raise ValueError(f"_conv: workspace of {have} elements, need {need} (chunk={chunk}, "
                         f"threads={n_threads})")
    return need


cdef Py_ssize_t _workspace_size(Geom* g, int chunk, int n_threads, bint partials,
                                Py_ssize_t itemsize) noexcept:
    cdef Py_ssize_t per_thread = _slot(g, chunk, itemsize)
    if partials:
        per_thread += <Py_ssize_t>g.Kg * g.F + g.F
    return per_thread * n_threads


def workspace_size(tuple x_shape, tuple w_shape, tuple y_shape, int stride_h, int stride_w,
                   int dilation_h, int dilation_w, int pad_top, int pad_left, int groups,
                   int images_per_chunk, int n_threads, bint partials, int itemsize) -> int:
    """Elements of scratch a call needs: a slot per thread (+ dw/db partials per thread)."""
    cdef Geom g = _geom(x_shape, w_shape, y_shape, stride_h, stride_w, dilation_h, dilation_w,
                        pad_top, pad_left, groups)
    return _workspace_size(&g, images_per_chunk, n_threads, partials, itemsize)


IMPLICIT_GEMM = bool(MG_HAVE_IG)  # compiled in: needs AVX-512 at build time (-march=native)
cdef bint _implicit_on = True


def use_implicit_gemm(bint on) -> bool:
    """Let the implicit GEMM take the calls it can (True, the default) or send them to im2col +
    BLAS (False: tests compare the two, benchmarks measure both); returns the previous setting."""
    global _implicit_on
    previous, _implicit_on = _implicit_on, on
    return previous


def kernel_path(tuple x_shape, tuple w_shape, tuple y_shape, int stride_h, int stride_w,
                int dilation_h, int dilation_w, int pad_top, int pad_left, int groups,
                int itemsize) -> str:
    """Which kernels a call runs: 'direct' (few taps), 'implicit' (implicit GEMM) or 'im2col'."""
    cdef Geom g = _geom(x_shape, w_shape, y_shape, stride_h, stride_w, dilation_h, dilation_w,
                        pad_top, pad_left, groups)
    return {DIRECT: "direct", IMPLICIT: "implicit", IM2COL: "im2col"}[_path(&g, itemsize)]


ctypedef enum Path:
    DIRECT, IMPLICIT, IM2COL


cdef Path _path(Geom* g, Py_ssize_t itemsize) noexcept nogil:
    if g.groups == 1 and g.Kg <= DIRECT_MAX_TAPS:
        return DIRECT
    return IMPLICIT if _implicit(g, itemsize) else IM2COL


cdef bint _implicit(Geom* g, Py_ssize_t itemsize) noexcept nogil:
    """Whether the implicit GEMM kernels take this call (see conv_kernels.h)."""
    cdef int lanes = 64 // itemsize
    return (MG_HAVE_IG and _implicit_on and g.groups == 1 and g.Kg > DIRECT_MAX_TAPS
            and g.C % lanes == 0 and g.F % lanes == 0 and g.KH * g.KW <= IMPLICIT_MAX_TAPS)


cdef mg_ig _ig(Geom* g) noexcept nogil:
    cdef mg_ig s
    s.Hp, s.Wp = (g.Hp, g.Wp) if g.padded else (g.H, g.W)
    s.C, s.OH, s.OW, s.F, s.KH, s.KW = g.C, g.OH, g.OW, g.F, g.KH, g.KW
    s.sh, s.sw, s.dh, s.dw = g.stride_h, g.stride_w, g.dilation_h, g.dilation_w
    return s


cdef const floating* _pad_chunk(const floating* x, floating* buf, Geom* g, int n0,
                                int n1) noexcept nogil:
    """Images n0..n1 of x inside a zero border, Hp x Wp (into buf), or x itself when none is needed."""
    cdef Py_ssize_t n, hp, h, C = g.C, row = <Py_ssize_t>g.Wp * g.C
    cdef Py_ssize_t lo = min(g.pad_left, g.Wp), hi = min(g.pad_left + g.W, g.Wp)
    cdef floating* dst
    if not g.padded:
        return x + <Py_ssize_t>n0 * g.H * g.W * C
    for n in range(n0, n1):
        for hp in range(g.Hp):
            dst = buf + ((n - n0) * g.Hp + hp) * row
            h = hp - g.pad_top
            if h < 0 or h >= g.H or lo >= hi:
                memset(dst, 0, row * sizeof(floating))
                continue
            memset(dst, 0, lo * C * sizeof(floating))
            memcpy(dst + lo * C, x + ((n * g.H + h) * g.W + lo - g.pad_left) * C,
                   (hi - lo) * C * sizeof(floating))
            memset(dst + hi * C, 0, (g.Wp - hi) * C * sizeof(floating))
    return buf


cdef void _unpad_chunk(const floating* buf, floating* dx, Geom* g, int n0, int n1) noexcept nogil:
    """dx's images n0..n1 (zeroed) from their padded gradient: the inverse of _pad_chunk's copy."""
    cdef Py_ssize_t n, h, C = g.C, cols = min(g.W, g.Wp - g.pad_left)
    if cols <= 0:
        return
    for n in range(n0, n1):
        for h in range(min(g.H, g.Hp - g.pad_top)):
            memcpy(dx + ((n * g.H + h) * g.W) * C,
                   buf + (((n - n0) * g.Hp + h + g.pad_top) * g.Wp + g.pad_left) * C,
                   cols * C * sizeof(floating))


def conv2d_forward(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] w, b,
                   floating[:, :, :, ::1] y, int stride_h, int stride_w, int dilation_h,
                   int dilation_w, int pad_top, int pad_left, int groups,
                   floating[::1] workspace, int images_per_chunk, int n_threads,
                   bint relu=False) -> None:
    """y[n, oh, ow, f] = b[f] + sum_{i, j, c} x[n, oh*sh - pt + i*dh, ow*sw - pl + j*dw, c] w[i, j, c, f],
    then max(y, 0) when relu (fused: applied to each chunk while it is in cache)."""
    cdef Geom g = _geom(_dims(x.shape), _dims(w.shape), _dims(y.shape), stride_h,
                        stride_w, dilation_h, dilation_w, pad_top, pad_left, groups)
    cdef const floating[::1] bias = b if b is not None else None
    if bias is not None and bias.shape[0] != g.F:
        raise ValueError(f"_conv: bias of {bias.shape[0]} values for {g.F} filters")
    _check_workspace(workspace.shape[0], &g, images_per_chunk, n_threads, False, sizeof(floating))
    if g.N == 0:
        return
    cdef int ci, n0, n1, n_chunks = (g.N + images_per_chunk - 1) // images_per_chunk
    cdef Py_ssize_t col_size = _slot(&g, images_per_chunk, sizeof(floating))
    cdef Path path = _path(&g, sizeof(floating))
    cdef const floating[:, :, ::1] wblk = _direct_weights(w, &g) if path == DIRECT else None
    cdef mg_ig ig = _ig(&g)
    cdef int geo[14]
    _geo_array(&g, geo)
    with nogil:
        # dynamic: on a shared machine a thread that lost its core must not hold up the rest
        for ci in prange(n_chunks, num_threads=n_threads, schedule="dynamic"):
            n0 = ci * images_per_chunk
            n1 = min(g.N, n0 + images_per_chunk)
            _forward_chunk(path, &x[0, 0, 0, 0],
                           &wblk[0, 0, 0] if path == DIRECT else &w[0, 0, 0, 0],
                           &bias[0] if bias is not None else NULL, &y[0, 0, 0, 0], &g, &ig, geo,
                           n0, n1, &workspace[0] + threadid() * col_size, relu)


cdef void _forward_chunk(Path path, const floating* x, const floating* w, const floating* b,
                         floating* y, Geom* g, mg_ig* ig, const int* geo, int n0, int n1,
                         floating* ws, bint relu) noexcept nogil:
    """Images n0..n1 of y by the given path (w is the direct path's blocked copy for DIRECT)."""
    cdef int grp, rows = (n1 - n0) * g.OH * g.OW
    cdef floating* yc = y + <Py_ssize_t>n0 * g.OH * g.OW * g.F
    cdef const floating* xp
    if path == DIRECT:
        if floating is float:
            mg_direct_float(x, w, b, y, geo, n0, n1)
        else:
            mg_direct_double(x, w, b, y, geo, n0, n1)
    elif path == IMPLICIT:
        xp = _pad_chunk(x, ws, g, n0, n1)
        if floating is float:
            mg_ig_forward_float(xp, w, b, yc, ig, n1 - n0)
        else:
            mg_ig_forward_double(xp, w, b, yc, ig, n1 - n0)
    else:
        for grp in range(g.groups):
            im2col(x, ws, g, n0, n1, grp)
            gemm(False, False, rows, g.Fg, g.Kg, <floating>1, ws, g.Kg, w + grp * g.Fg, g.F,
                 <floating>0, yc + grp * g.Fg, g.F)
        if b != NULL:  # while the chunk's output is still in cache
            if floating is float:
                mg_add_rows_float(yc, rows, g.F, b)
            else:
                mg_add_rows_double(yc, rows, g.F, b)
    if relu:
        if floating is float:
            mg_relu_float(yc, <Py_ssize_t>rows * g.F)
        else:
            mg_relu_double(yc, <Py_ssize_t>rows * g.F)


def conv2d_backward(const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] x,
                    const floating[:, :, :, ::1] w, dx, dw, db, int stride_h, int stride_w,
                    int dilation_h, int dilation_w, int pad_top, int pad_left, int groups,
                    floating[::1] workspace, int images_per_chunk, int n_threads) -> None:
    """Fill whichever of dx (like x), dw (like w), db (F,) is not None; dx and dw are overwritten."""
    cdef Geom g = _geom(_dims(x.shape), _dims(w.shape), _dims(dy.shape), stride_h,
                        stride_w, dilation_h, dilation_w, pad_top, pad_left, groups)
    cdef floating[:, :, :, ::1] dx_v = dx if dx is not None else None
    cdef floating[:, :, :, ::1] dw_v = dw if dw is not None else None
    cdef floating[::1] db_v = db if db is not None else None
    if dx_v is not None and _dims(dx_v.shape) != _dims(x.shape):
        raise ValueError("_conv: dx must have the shape of x")
    if dw_v is not None and _dims(dw_v.shape) != _dims(w.shape):
        raise ValueError("_conv: dw must have the shape of w")
    if db_v is not None and db_v.shape[0] != g.F:
        raise ValueError("_conv: db must have one value per filter")
    _check_workspace(workspace.shape[0], &g, images_per_chunk, n_threads, True, sizeof(floating))
    cdef Py_ssize_t col_size = _slot(&g, images_per_chunk, sizeof(floating))
    cdef Py_ssize_t stride = col_size + <Py_ssize_t>g.Kg * g.F + g.F
    cdef floating* ws = &workspace[0]
    cdef floating* dxp = &dx_v[0, 0, 0, 0] if dx_v is not None and g.N > 0 else NULL
    cdef bint want_dw = dw_v is not None, want_db = db_v is not None
    cdef int ci, t, n_chunks = (g.N + images_per_chunk - 1) // images_per_chunk
    cdef int geo[14]
    _geo_array(&g, geo)
    cdef bint implicit = _implicit(&g, sizeof(floating))
    cdef mg_ig ig = _ig(&g)
    cdef const floating[:, ::1] wT = None  # (F, Kg): the dx GEMM's operand, read row by row
    if implicit and dxp != NULL:
        import numpy as np
        wT = np.ascontiguousarray(np.asarray(w).reshape(g.Kg, g.F).T)
    with nogil:
        for t in range(n_threads):
            memset(ws + t * stride + col_size, 0, (<Py_ssize_t>g.Kg * g.F + g.F) * sizeof(floating))
        for ci in prange(n_chunks, num_threads=n_threads, schedule="dynamic"):
            t = threadid()
            if implicit:
                _ig_backward_chunk(&dy[0, 0, 0, 0], &x[0, 0, 0, 0],
                                   &wT[0, 0] if wT is not None else NULL, dxp, want_dw, want_db,
                                   &g, &ig, ci * images_per_chunk,
                                   min(g.N, (ci + 1) * images_per_chunk), ws + t * stride, col_size)
            else:
                _backward_chunk(&dy[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0, 0, 0, 0], dxp, want_dw,
                                want_db, &g, ci * images_per_chunk,
                                min(g.N, (ci + 1) * images_per_chunk), ws + t * stride, col_size,
                                geo)
        # reduce the per-thread partials (a few thousand values: not worth threads)
        if want_dw:
            _sum_partials(ws + col_size, stride, n_threads, <Py_ssize_t>g.Kg * g.F,
                          &dw_v[0, 0, 0, 0], g.N > 0)
        if want_db:
            _sum_partials(ws + col_size + <Py_ssize_t>g.Kg * g.F, stride, n_threads, g.F,
                          &db_v[0], g.N > 0)


cdef void _sum_partials(const floating* first, Py_ssize_t stride, int n_threads, Py_ssize_t size,
                        floating* out, bint have_data) noexcept nogil:
    cdef Py_ssize_t e
    cdef int t
    for e in range(size):
        out[e] = 0
    if not have_data:
        return
    for t in range(n_threads):
        for e in range(size):
            out[e] += first[t * stride + e]


cdef void _ig_backward_chunk(const floating* dy, const floating* x, const floating* wT,
                             floating* dx, bint want_dw, bint want_db, Geom* g, mg_ig* ig, int n0,
                             int n1, floating* ws, Py_ssize_t slot) noexcept nogil:
    """_backward_chunk by the implicit GEMM kernels: the slot holds the padded x, then dx."""
    cdef floating* dwp = ws + slot
    cdef Py_ssize_t img = <Py_ssize_t>g.H * g.W * g.C, pimg = <Py_ssize_t>g.Hp * g.Wp * g.C
    cdef const floating* dyc = dy + <Py_ssize_t>n0 * g.OH * g.OW * g.F
    cdef const floating* xp
    cdef floating* dxp
    if want_dw:
        xp = _pad_chunk(x, ws, g, n0, n1)
        if floating is float:
            mg_ig_dweights_float(xp, dyc, dwp, ig, n1 - n0)
        else:
            mg_ig_dweights_double(xp, dyc, dwp, ig, n1 - n0)
    if dx != NULL:
        memset(dx + n0 * img, 0, (n1 - n0) * img * sizeof(floating))
        dxp = ws + (n1 - n0) * pimg if g.padded else dx + n0 * img
        if g.padded:
            memset(dxp, 0, (n1 - n0) * pimg * sizeof(floating))
        if floating is float:
            mg_ig_dinput_float(dyc, wT, dxp, ig, n1 - n0)
        else:
            mg_ig_dinput_double(dyc, wT, dxp, ig, n1 - n0)
        if g.padded:
            _unpad_chunk(dxp, dx, g, n0, n1)
    if want_db:
        if floating is float:
            mg_sum_rows_float(dyc, (n1 - n0) * g.OH * g.OW, g.F, dwp + <Py_ssize_t>g.Kg * g.F)
        else:
            mg_sum_rows_double(dyc, (n1 - n0) * g.OH * g.OW, g.F, dwp + <Py_ssize_t>g.Kg * g.F)


cdef void _backward_chunk(const floating* dy, const floating* x, const floating* w, floating* dx,
                          bint want_dw, bint want_db, Geom* g, int n0, int n1, floating* ws,
                          Py_ssize_t slot, const int* geo) noexcept nogil:
    cdef floating* col = ws
    cdef floating* dwp = ws + slot
    cdef floating* dbp = dwp + <Py_ssize_t>g.Kg * g.F
    cdef int grp, rows = (n1 - n0) * g.OH * g.OW
    cdef Py_ssize_t r, f, img = <Py_ssize_t>g.H * g.W * g.C
    cdef const floating* dyc = dy + <Py_ssize_t>n0 * g.OH * g.OW * g.F
    if dx != NULL:
        memset(dx + n0 * img, 0, (n1 - n0) * img * sizeof(floating))
    if want_dw and g.groups == 1 and g.Kg <= DIRECT_MAX_TAPS:
        want_dw = False  # done here, without im2col
        if floating is float:
            mg_direct_dw_float(x, dy, dwp, geo, n0, n1)
        else:
            mg_direct_dw_double(x, dy, dwp, geo, n0, n1)
    for grp in range(g.groups):
        if want_dw:  # dw_g[Kg, Fg] += col_g^T @ dy_g
            im2col(x, col, g, n0, n1, grp)
            gemm(True, False, g.Kg, g.Fg, rows, <floating>1, col, g.Kg, dyc + grp * g.Fg, g.F,
                 <floating>1, dwp + grp * g.Fg, g.F)
        if dx != NULL:  # dcol_g = dy_g @ w_g^T, then scatter-add back (reusing col's space)
            gemm(False, True, rows, g.Kg, g.Fg, <floating>1, dyc + grp * g.Fg, g.F,
                 w + grp * g.Fg, g.F, <floating>0, col, g.Kg)
            col2im(col, dx, g, n0, n1, grp)
    if want_db:
        if floating is float:
            mg_sum_rows_float(dyc, rows, g.F, dbp)
        else:
            mg_sum_rows_double(dyc, rows, g.F, dbp)


cdef void _geo_array(Geom* g, int* geo) noexcept:
    """The geometry as the C kernels' int[14]: H W C OH OW F KH KW sh sw dh dw pad_top pad_left."""
    geo[0], geo[1], geo[2], geo[3], geo[4], geo[5], geo[6] = g.H, g.W, g.C, g.OH, g.OW, g.F, g.KH
    geo[7], geo[8], geo[9], geo[10] = g.KW, g.stride_h, g.stride_w, g.dilation_h
    geo[11], geo[12], geo[13] = g.dilation_w, g.pad_top, g.pad_left


cdef object _direct_weights(const floating[:, :, :, ::1] w, Geom* g):
    """w as the direct kernel reads it: blocks of 16 filters, wblk[block][tap][16], zero-padded."""
    import numpy as np

    cdef int k, nb = (g.F + 15) // 16
    blocks = np.zeros((nb, g.Kg, 16), np.float32 if floating is float else np.float64)
    flat = np.asarray(w).reshape(g.Kg, g.F)
    for k in range(nb):
        blocks[k, :, :min(16, g.F - 16 * k)] = flat[:, 16 * k:16 * (k + 1)]
    return blocks

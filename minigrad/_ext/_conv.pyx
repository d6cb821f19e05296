"""conv2d on NHWC arrays by three paths, read from one checked plan per geometry, the GIL released.

Layout: x (N, H, W, C), w (KH, KW, C/groups, F) as Keras stores it, y (N, OH, OW, F). An im2col row
is one output pixel and its columns run (i, j, c), which is exactly w reshaped to (KH*KW*C/groups,
F), so the weights never need a copy and y comes out of the GEMM already in NHWC order.

The geometry arrives as a Plan (a copy of the C struct mg_conv_plan of conv_plan.h) that
minigrad.kernels.conv_plan has checked in Python integers: every size and every offset product the
kernels form fits in int64, every buffer in the address space. The plan also names the path of
each direction (forward, input gradient, weight gradient):
- direct: at most 32 taps (KH*KW*C) and one group; forward and weight gradient run vector kernels
  over each pixel's tap list (conv_body.h): such GEMMs are too thin to pay for im2col.
- implicit: one group, C and F whole vectors: register-tiled GEMM kernels reading x, dy and w in
  place (conv_tile.h), no im2col matrix and no BLAS packing.
- im2col: anything, im2col (or col2im) of a chunk of images and a single-threaded BLAS GEMM.
- winograd: 3x3 kernels at stride 1 and dilation 1, one group, C and F whole vectors: F(4x4, 3x3)
  tiles, 36 multiplications per 4x4 outputs instead of 144, the GEMMs by the implicit path's
  register tiles (conv_winograd.h). Its weight gradient is dU = G dw G^T's (36 C F values), which
  kernels.conv_winograd transforms back; its input gradient is a Winograd forward over dy (w
  turned, C and F swapped) by a second plan of that geometry.
The vector kernels are compiled for baseline x86-64, AVX2 + FMA and AVX-512 (conv_isa_*.h, each
under its own target pragma); the
import picks the best level CPUID reports, capped by MINIGRAD_ISA and the build's MINIGRAD_BUILD_ISA.

Threading: the batch is cut into n_chunks chunks of at most `plan.chunk` images (sizes within one
of each other); each thread works in its own workspace slot and calls single-threaded kernels (BLAS
is pinned to one thread by the wrapper).
The forward hands chunks out dynamically (a thread that lost its core must not hold up the rest);
the backward statically, so each thread's dw/db partial sums the same chunks in the same order on
every run and the fixed-order reduction makes a run bit-identical to the next at a given thread count.
"""
from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.stdint cimport int64_t
from libc.string cimport memcpy, memset

from minigrad._ext._blas cimport gemm

cdef extern from "conv_kernels.h":
    enum:
        MG_PATH_DIRECT, MG_PATH_IMPLICIT, MG_PATH_IM2COL, MG_PATH_WINOGRAD
        MG_ISA_BASELINE, MG_ISA_AVX2, MG_ISA_AVX512, MG_MAX_ISA
        MG_DIRECT_MAX_TAPS, MG_IMPLICIT_MAX_TAPS, MG_WINO_ELEMENTS, MG_WINO_SCRATCH
    ctypedef struct mg_conv_plan:
        int64_t N, H, W, C, KH, KW, Cg, F, OH, OW
        int64_t stride_h, stride_w, dilation_h, dilation_w
        int64_t pad_top, pad_bottom, pad_left, pad_right
        int64_t groups, Fg, Kg, xp_h, xp_w, padded, tiles_h, tiles_w, wino_images
        int64_t chunk, n_chunks, n_threads
        int64_t slot_forward, slot_backward, partials
        int64_t path_forward, path_input_grad, path_weight_grad
    ctypedef struct Kernels "mg_conv_kernels":
        int64_t lanes_f32, lanes_f64
        void (*direct_forward_f32)(const mg_conv_plan*, const float*, const float*, const float*,
                                   float*, int64_t, int64_t) noexcept nogil
        void (*direct_forward_f64)(const mg_conv_plan*, const double*, const double*,
                                   const double*, double*, int64_t, int64_t) noexcept nogil
        void (*direct_dweights_f32)(const mg_conv_plan*, const float*, const float*, float*,
                                    int64_t, int64_t) noexcept nogil
        void (*direct_dweights_f64)(const mg_conv_plan*, const double*, const double*, double*,
                                    int64_t, int64_t) noexcept nogil
        void (*ig_forward_f32)(const mg_conv_plan*, const float*, const float*, const float*,
                               float*, int64_t) noexcept nogil
        void (*ig_forward_f64)(const mg_conv_plan*, const double*, const double*, const double*,
                               double*, int64_t) noexcept nogil
        void (*ig_dweights_f32)(const mg_conv_plan*, const float*, const float*, float*,
                                int64_t) noexcept nogil
        void (*ig_dweights_f64)(const mg_conv_plan*, const double*, const double*, double*,
                                int64_t) noexcept nogil
        void (*ig_dinput_f32)(const mg_conv_plan*, const float*, const float*, float*,
                              int64_t) noexcept nogil
        void (*ig_dinput_f64)(const mg_conv_plan*, const double*, const double*, double*,
                              int64_t) noexcept nogil
        void (*wino_forward_f32)(const mg_conv_plan*, const float*, const float*, const float*,
                                 float*, int64_t, int64_t, float*) noexcept nogil
        void (*wino_forward_f64)(const mg_conv_plan*, const double*, const double*,
                                 const double*, double*, int64_t, int64_t, double*) noexcept nogil
        void (*wino_dweights_f32)(const mg_conv_plan*, const float*, const float*, float*,
                                  int64_t, int64_t, float*) noexcept nogil
        void (*wino_dweights_f64)(const mg_conv_plan*, const double*, const double*, double*,
                                  int64_t, int64_t, double*) noexcept nogil
        void (*sum_rows_f32)(const float*, int64_t, int64_t, float*) noexcept nogil
        void (*sum_rows_f64)(const double*, int64_t, int64_t, double*) noexcept nogil
    int mg_cpu_isa() noexcept nogil
    const void* mg_family_table(int* level) noexcept nogil
    void mg_add_rows_float(float* y, int64_t rows, int64_t F, const float* b) noexcept nogil
    void mg_add_rows_double(double* y, int64_t rows, int64_t F, const double* b) noexcept nogil
    void mg_relu_float(float* y, int64_t n) noexcept nogil
    void mg_relu_double(double* y, int64_t n) noexcept nogil
    void mg_add_float(float* dst, const float* src, int64_t n) noexcept nogil
    void mg_add_double(double* dst, const double* src, int64_t n) noexcept nogil

PATHS = ("direct", "implicit", "im2col", "winograd")  # index = MG_PATH_*
DIRECT_MAX_TAPS = MG_DIRECT_MAX_TAPS
IMPLICIT_MAX_TAPS = MG_IMPLICIT_MAX_TAPS
WINOGRAD_ELEMENTS, WINOGRAD_SCRATCH = MG_WINO_ELEMENTS, MG_WINO_SCRATCH
include "isa_select.pxi"
CPU_ISA = ISA_LEVELS[mg_cpu_isa()]  # what CPUID reports
BUILD_ISA = ISA_LEVELS[MG_MAX_ISA]  # the highest level this build may pick


def lanes(int itemsize) -> int:
    """Vector lanes of the running kernels for this element size (implicit needs C, F multiples)."""
    return _k.lanes_f32 if itemsize == 4 else _k.lanes_f64

_FIELDS = ("N", "H", "W", "C", "KH", "KW", "Cg", "F", "OH", "OW", "stride_h", "stride_w",
           "dilation_h", "dilation_w", "pad_top", "pad_bottom", "pad_left", "pad_right", "groups",
           "Fg", "Kg", "xp_h", "xp_w", "padded", "tiles_h", "tiles_w", "wino_images", "chunk",
           "n_chunks", "n_threads", "slot_forward", "slot_backward", "partials", "path_forward",
           "path_input_grad", "path_weight_grad")


cdef class Plan:
    """The C struct mg_conv_plan, filled once from checked Python integers (see conv_plan.py)."""
    cdef mg_conv_plan p

    def __init__(self, **fields: int) -> None:
        if set(fields) != set(_FIELDS):
            raise ValueError(f"_conv.Plan: expected the fields {_FIELDS}, received {sorted(fields)}")
        cdef mg_conv_plan* p = &self.p
        # each assignment converts a Python int to int64_t: OverflowError rather than wrapping
        p.N, p.H, p.W, p.C = fields["N"], fields["H"], fields["W"], fields["C"]
        p.KH, p.KW, p.Cg, p.F = fields["KH"], fields["KW"], fields["Cg"], fields["F"]
        p.OH, p.OW = fields["OH"], fields["OW"]
        p.stride_h, p.stride_w = fields["stride_h"], fields["stride_w"]
        p.dilation_h, p.dilation_w = fields["dilation_h"], fields["dilation_w"]
        p.pad_top, p.pad_bottom = fields["pad_top"], fields["pad_bottom"]
        p.pad_left, p.pad_right = fields["pad_left"], fields["pad_right"]
        p.groups, p.Fg, p.Kg = fields["groups"], fields["Fg"], fields["Kg"]
        p.xp_h, p.xp_w, p.padded = fields["xp_h"], fields["xp_w"], fields["padded"]
        p.tiles_h, p.tiles_w = fields["tiles_h"], fields["tiles_w"]
        p.wino_images = fields["wino_images"]
        p.chunk, p.n_chunks, p.n_threads = fields["chunk"], fields["n_chunks"], fields["n_threads"]
        p.slot_forward, p.slot_backward = fields["slot_forward"], fields["slot_backward"]
        p.partials = fields["partials"]
        p.path_forward, p.path_input_grad = fields["path_forward"], fields["path_input_grad"]
        p.path_weight_grad = fields["path_weight_grad"]
        if (min(p.N, p.pad_top, p.pad_bottom, p.pad_left, p.pad_right, p.slot_forward,
                p.slot_backward, p.partials, p.n_chunks) < 0
                or min(p.H, p.W, p.C, p.KH, p.KW, p.Cg, p.F, p.OH, p.OW, p.stride_h, p.stride_w,
                       p.dilation_h, p.dilation_w, p.groups, p.chunk, p.n_threads) < 1
                or p.Cg * p.groups != p.C or p.Fg * p.groups != p.F
                or p.Kg != p.KH * p.KW * p.Cg or p.n_chunks * p.chunk < p.N or p.n_chunks > p.N
                or max(p.path_forward, p.path_input_grad, p.path_weight_grad) > MG_PATH_WINOGRAD
                or p.tiles_h != (p.OH + 3) // 4 or p.tiles_w != (p.OW + 3) // 4
                or not 1 <= p.wino_images <= p.chunk
                or p.partials != p.F + (MG_WINO_ELEMENTS * p.C * p.F
                                        if p.path_weight_grad == MG_PATH_WINOGRAD else p.Kg * p.F)
                or min(p.path_forward, p.path_input_grad, p.path_weight_grad) < 0):
            raise ValueError(f"_conv.Plan: inconsistent fields {fields}")

    def fields(self) -> dict:
        """The struct's fields by name."""
        cdef mg_conv_plan* p = &self.p
        values = (p.N, p.H, p.W, p.C, p.KH, p.KW, p.Cg, p.F, p.OH, p.OW, p.stride_h, p.stride_w,
                  p.dilation_h, p.dilation_w, p.pad_top, p.pad_bottom, p.pad_left, p.pad_right,
                  p.groups, p.Fg, p.Kg, p.xp_h, p.xp_w, p.padded, p.tiles_h, p.tiles_w,
                  p.wino_images, p.chunk, p.n_chunks,
                  p.n_threads, p.slot_forward, p.slot_backward, p.partials, p.path_forward,
                  p.path_input_grad, p.path_weight_grad)
        return dict(zip(_FIELDS, values))


cdef int _expect(tuple got, tuple want, str what) except -1:
    if got != want:
        raise ValueError(f"_conv: {what} has shape {got}, the plan expects {want}")
    return 0


cdef tuple _dims(Py_ssize_t* shape, int ndim):
    return tuple(shape[d] for d in range(ndim))


include "conv_layout.pxi"


def conv2d_forward(Plan plan, const floating[:, :, :, ::1] x, const floating[::1] w, b,
                   floating[:, :, :, ::1] y, floating[::1] workspace, bint relu=False) -> None:
    """y = b + cross-correlation of x with w by plan.path_forward, then max(y, 0) when relu (fused,
    applied to each chunk in cache). w: the weights flattened; for the direct path the blocked
    copy wblk[F/(2 lanes)][Kg][2 lanes], for Winograd U = G w G^T [36][C][F] (see kernels.conv,
    conv_winograd)."""
    cdef mg_conv_plan* g = &plan.p
    _expect(_dims(x.shape, 4), (g.N, g.H, g.W, g.C), "x")
    _expect(_dims(y.shape, 4), (g.N, g.OH, g.OW, g.F), "y")
    cdef int64_t bw = 2 * lanes(sizeof(floating)), wsize = g.Kg * g.F
    if g.path_forward == MG_PATH_DIRECT:
        wsize = (g.F + bw - 1) // bw * g.Kg * bw
    elif g.path_forward == MG_PATH_WINOGRAD:
        wsize = MG_WINO_ELEMENTS * g.C * g.F
    _expect((w.shape[0],), (wsize,), "w")
    cdef const floating[::1] bias = b if b is not None else None
    if bias is not None:
        _expect((bias.shape[0],), (g.F,), "b")
    if workspace.shape[0] < max(1, g.n_threads * g.slot_forward):
        raise ValueError(f"_conv: workspace of {workspace.shape[0]} elements, the plan needs "
                         f"{g.n_threads * g.slot_forward}")
    cdef int64_t ci
    with nogil:
        for ci in prange(g.n_chunks, num_threads=g.n_threads, schedule="dynamic"):
            _forward_chunk(g, &x[0, 0, 0, 0], &w[0], &bias[0] if bias is not None else NULL,
                           &y[0, 0, 0, 0], _chunk_start(g, ci), _chunk_start(g, ci + 1),
                           &workspace[0] + threadid() * g.slot_forward, relu)


cdef inline int64_t _chunk_start(const mg_conv_plan* g, int64_t ci) noexcept nogil:
    """First image of chunk ci: N split into n_chunks runs whose sizes differ by one at most
    (each at most plan.chunk), without forming ci * N."""
    cdef int64_t q = g.N // g.n_chunks, r = g.N % g.n_chunks
    return ci * q + (ci if ci < r else r)


cdef void _forward_chunk(const mg_conv_plan* g, const floating* x, const floating* w,
                         const floating* b, floating* y, int64_t n0, int64_t n1, floating* ws,
                         bint relu) noexcept nogil:
    """Images n0..n1 of y by the plan's forward path."""
    cdef int64_t grp, rows = (n1 - n0) * g.OH * g.OW
    cdef floating* yc = y + n0 * g.OH * g.OW * g.F
    cdef const floating* xp
    if g.path_forward == MG_PATH_DIRECT:
        if floating is float:
            _k.direct_forward_f32(g, x, w, b, y, n0, n1)
        else:
            _k.direct_forward_f64(g, x, w, b, y, n0, n1)
    elif g.path_forward == MG_PATH_WINOGRAD:
        if floating is float:
            _k.wino_forward_f32(g, x, w, b, y, n0, n1, ws)
        else:
            _k.wino_forward_f64(g, x, w, b, y, n0, n1, ws)
    elif g.path_forward == MG_PATH_IMPLICIT:
        xp = _pad_chunk(x, ws, g, n0, n1)
        if floating is float:
            _k.ig_forward_f32(g, xp, w, b, yc, n1 - n0)
        else:
            _k.ig_forward_f64(g, xp, w, b, yc, n1 - n0)
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
            mg_relu_float(yc, rows * g.F)
        else:
            mg_relu_double(yc, rows * g.F)


def conv2d_backward(Plan plan, const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] x,
                    const floating[::1] w, dx, dw, db, floating[::1] workspace,
                    Plan dual=None) -> None:
    """Fill whichever of dx (like x), dw (Kg*F values; Winograd: dU, 36*C*F), db (F,) is not None,
    by the plan's paths. w: the weights flattened, or for an implicit input gradient their
    transpose wT (F, Kg), for a Winograd one U of w turned 180 degrees with C and F swapped,
    [36][F][C]; dual: then the plan of that forward over dy (kernels.conv_plan)."""
    cdef mg_conv_plan* g = &plan.p
    _expect(_dims(x.shape, 4), (g.N, g.H, g.W, g.C), "x")
    _expect(_dims(dy.shape, 4), (g.N, g.OH, g.OW, g.F), "dy")
    cdef bint winograd_dx = dx is not None and g.path_input_grad == MG_PATH_WINOGRAD
    _expect((w.shape[0],), (MG_WINO_ELEMENTS * g.C * g.F if winograd_dx else g.Kg * g.F,), "w")
    if winograd_dx:
        if dual is None:
            raise ValueError("_conv: a Winograd input gradient needs the plan of its forward over dy")
        _expect(tuple(dual.fields()[k] for k in ("N", "H", "W", "C", "OH", "OW", "F")),
                (g.N, g.OH, g.OW, g.F, g.H, g.W, g.C), "the dual plan")
        if dual.p.slot_forward > g.slot_backward or dual.p.n_chunks != g.n_chunks:
            raise ValueError(f"_conv: the dual plan needs {dual.p.slot_forward} scratch elements "
                             f"per thread over {dual.p.n_chunks} chunks; the plan has "
                             f"{g.slot_backward} over {g.n_chunks}")
    cdef const mg_conv_plan* gd = &dual.p if winograd_dx else NULL
    cdef floating[:, :, :, ::1] dx_v = dx if dx is not None else None
    cdef floating[::1] dw_v = dw if dw is not None else None
    cdef floating[::1] db_v = db if db is not None else None
    if dx_v is not None:
        _expect(_dims(dx_v.shape, 4), (g.N, g.H, g.W, g.C), "dx")
    if dw_v is not None:
        _expect((dw_v.shape[0],), (g.partials - g.F,), "dw")
    if db_v is not None:
        _expect((db_v.shape[0],), (g.F,), "db")
    cdef int64_t stride = g.slot_backward + g.partials
    if workspace.shape[0] < max(1, g.n_threads * stride):
        raise ValueError(f"_conv: workspace of {workspace.shape[0]} elements, the plan needs "
                         f"{g.n_threads * stride}")
    cdef floating* ws = &workspace[0]
    cdef floating* dxp = &dx_v[0, 0, 0, 0] if dx_v is not None and g.N > 0 else NULL
    cdef bint want_dw = dw_v is not None, want_db = db_v is not None
    cdef int64_t ci, t
    with nogil:
        for t in range(g.n_threads):
            memset(ws + t * stride + g.slot_backward, 0, g.partials * sizeof(floating))
        # static: chunk ci always lands in the same thread's partial, in the same order
        for ci in prange(g.n_chunks, num_threads=g.n_threads, schedule="static"):
            _backward_chunk(g, gd, &dy[0, 0, 0, 0], &x[0, 0, 0, 0], &w[0], dxp, want_dw, want_db,
                            _chunk_start(g, ci), _chunk_start(g, ci + 1), ws + threadid() * stride)
        # reduce the per-thread partials in thread order (a few thousand values: not worth threads)
        if want_dw:
            _sum_partials(ws + g.slot_backward, stride, g.n_threads, g.partials - g.F, &dw_v[0])
        if want_db:
            _sum_partials(ws + g.slot_backward + g.partials - g.F, stride, g.n_threads, g.F,
                          &db_v[0])


cdef void _sum_partials(const floating* first, int64_t stride, int64_t n_threads, int64_t size,
                        floating* out) noexcept nogil:
    cdef int64_t e, t
    for e in range(size):
        out[e] = 0
    for t in range(n_threads):
        for e in range(size):
            out[e] += first[t * stride + e]


cdef void _backward_chunk(const mg_conv_plan* g, const mg_conv_plan* gd, const floating* dy,
                          const floating* x, const floating* w, floating* dx, bint want_dw,
                          bint want_db, int64_t n0, int64_t n1, floating* ws) noexcept nogil:
    """Images n0..n1: dx (their own rows) and this thread's dw/db partials (after its slot)."""
    cdef floating* slot = ws
    cdef floating* dwp = ws + g.slot_backward
    cdef int64_t grp, rows = (n1 - n0) * g.OH * g.OW
    cdef int64_t img = g.H * g.W * g.C, pimg = g.xp_h * g.xp_w * g.C
    cdef const floating* dyc = dy + n0 * g.OH * g.OW * g.F
    cdef const floating* xp
    cdef floating* dxc
    if want_dw and g.path_weight_grad == MG_PATH_DIRECT:
        if floating is float:
            _k.direct_dweights_f32(g, x, dy, dwp, n0, n1)
        else:
            _k.direct_dweights_f64(g, x, dy, dwp, n0, n1)
    elif want_dw and g.path_weight_grad == MG_PATH_WINOGRAD:
        if floating is float:
            _k.wino_dweights_f32(g, x, dy, dwp, n0, n1, slot)
        else:
            _k.wino_dweights_f64(g, x, dy, dwp, n0, n1, slot)
    elif want_dw and g.path_weight_grad == MG_PATH_IMPLICIT:
        xp = _pad_chunk(x, slot, g, n0, n1)
        if floating is float:
            _k.ig_dweights_f32(g, xp, dyc, dwp, n1 - n0)
        else:
            _k.ig_dweights_f64(g, xp, dyc, dwp, n1 - n0)
    elif want_dw:
        for grp in range(g.groups):  # dw_g[Kg, Fg] += col_g^T @ dy_g
            im2col(x, slot, g, n0, n1, grp)
            gemm(True, False, g.Kg, g.Fg, rows, <floating>1, slot, g.Kg, dyc + grp * g.Fg, g.F,
                 <floating>1, dwp + grp * g.Fg, g.F)
    if dx != NULL and g.path_input_grad == MG_PATH_WINOGRAD:  # every pixel written: no memset
        if floating is float:
            _k.wino_forward_f32(gd, dy, w, NULL, dx, n0, n1, slot)
        else:
            _k.wino_forward_f64(gd, dy, w, NULL, dx, n0, n1, slot)
    elif dx != NULL:
        memset(dx + n0 * img, 0, (n1 - n0) * img * sizeof(floating))
        if g.path_input_grad == MG_PATH_IMPLICIT:  # w is wT (F, Kg) here
            dxc = slot if g.padded else dx + n0 * img
            if g.padded:
                memset(dxc, 0, (n1 - n0) * pimg * sizeof(floating))
            if floating is float:
                _k.ig_dinput_f32(g, dyc, w, dxc, n1 - n0)
            else:
                _k.ig_dinput_f64(g, dyc, w, dxc, n1 - n0)
            if g.padded:
                _unpad_chunk(dxc, dx, g, n0, n1)
        else:
            for grp in range(g.groups):  # dcol_g = dy_g @ w_g^T, then scatter-add it back
                gemm(False, True, rows, g.Kg, g.Fg, <floating>1, dyc + grp * g.Fg, g.F,
                     w + grp * g.Fg, g.F, <floating>0, slot, g.Kg)
                col2im(slot, dx, g, n0, n1, grp)
    if want_db:
        if floating is float:
            _k.sum_rows_f32(dyc, rows, g.F, dwp + g.partials - g.F)
        else:
            _k.sum_rows_f64(dyc, rows, g.F, dwp + g.partials - g.F)

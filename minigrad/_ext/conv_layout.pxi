# Included by _conv.pyx: the layout moves of the conv paths (im2col and its adjoint for the BLAS
# path, the zero border of the direct path), on one plan's geometry. Needs _conv.pyx's cimports.


cdef void im2col(const floating* x, floating* col, const mg_conv_plan* g, int64_t n0, int64_t n1,
                 int64_t grp) noexcept nogil:
    """col[(n, oh, ow), (i, j, c)] = x[n, oh*sh - pt + i*dh, ow*sw - pl + j*dw, grp*Cg + c] or 0."""
    # Tap-major: for one output row and one tap (i, j), walk the output columns (the long loop).
    cdef int64_t n, oh, ow, i, j, c, h, Cg = g.Cg, Kg = g.Kg, lo, hi
    cdef int64_t xs = g.stride_w * g.C if g.OW > 1 else 0  # x step between output columns
    cdef floating* row
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
                        memset(dst + ow * Kg, 0, Cg * sizeof(floating))
                    if lo < hi:  # src starts at output column lo, inside x
                        src = x + (((n * g.H + h) * g.W + lo * g.stride_w + j * g.dilation_w
                                    - g.pad_left) * g.C + grp * Cg)
                        if Cg == 1:
                            for ow in range(lo, hi):
                                dst[ow * Kg] = src[(ow - lo) * xs]
                        else:
                            for ow in range(lo, hi):
                                memcpy(dst + ow * Kg, src + (ow - lo) * xs, Cg * sizeof(floating))
                    for ow in range(hi, g.OW):
                        memset(dst + ow * Kg, 0, Cg * sizeof(floating))


cdef inline (int64_t, int64_t) _inside(int64_t offset, int64_t stride, int64_t size,
                                       int64_t count) noexcept nogil:
    """[lo, hi) of k in [0, count) with 0 <= offset + k*stride < size (lo == hi when none)."""
    cdef int64_t lo = 0, hi
    if offset < 0:
        lo = (-offset + stride - 1) // stride
    hi = (size - offset + stride - 1) // stride if size > offset else 0
    hi = min(max(hi, 0), count)
    lo = min(lo, hi)
    return lo, hi


cdef void col2im(const floating* col, floating* dx, const mg_conv_plan* g, int64_t n0, int64_t n1,
                 int64_t grp) noexcept nogil:
    """dx[n, h, w, grp*Cg + c] += col[(n, oh, ow), (i, j, c)]: the adjoint of im2col."""
    cdef int64_t n, oh, ow, i, j, h, Cg = g.Cg, Kg = g.Kg, lo, hi
    cdef int64_t xs = g.stride_w * g.C if g.OW > 1 else 0
    cdef const floating* src
    cdef floating* dst
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
                    for ow in range(hi - lo):
                        _add(dst + ow * xs, src + ow * Kg, Cg)


cdef inline void _add(floating* dst, const floating* src, int64_t count) noexcept nogil:
    if floating is float:
        mg_add_float(dst, src, count)
    else:
        mg_add_double(dst, src, count)


cdef const floating* _pad_chunk(const floating* x, floating* buf, const mg_conv_plan* g,
                                int64_t n0, int64_t n1) noexcept nogil:
    """Images n0..n1 of x inside a zero border, xp_h x xp_w (into buf), or x itself if unpadded."""
    cdef int64_t n, hp, h, C = g.C, row = g.xp_w * g.C
    cdef int64_t lo = min(g.pad_left, g.xp_w), hi = min(g.pad_left + g.W, g.xp_w)
    cdef floating* dst
    if not g.padded:
        return x + n0 * g.H * g.W * C
    for n in range(n0, n1):
        for hp in range(g.xp_h):
            dst = buf + ((n - n0) * g.xp_h + hp) * row
            h = hp - g.pad_top
            if h < 0 or h >= g.H or lo >= hi:
                memset(dst, 0, row * sizeof(floating))
                continue
            memset(dst, 0, lo * C * sizeof(floating))
            memcpy(dst + lo * C, x + ((n * g.H + h) * g.W + lo - g.pad_left) * C,
                   (hi - lo) * C * sizeof(floating))
            memset(dst + hi * C, 0, (g.xp_w - hi) * C * sizeof(floating))
    return buf


cdef void _unpad_chunk(const floating* buf, floating* dx, const mg_conv_plan* g, int64_t n0,
                       int64_t n1) noexcept nogil:
    """dx's images n0..n1 from their padded gradient (rows/columns past the windows stay 0)."""
    cdef int64_t n, h, C = g.C, cols = min(g.W, g.xp_w - g.pad_left)
    if cols <= 0:
        return
    for n in range(n0, n1):
        for h in range(min(g.H, g.xp_h - g.pad_top)):
            memcpy(dx + ((n * g.H + h) * g.W) * C,
                   buf + (((n - n0) * g.xp_h + h + g.pad_top) * g.xp_w + g.pad_left) * C,
                   cols * C * sizeof(floating))

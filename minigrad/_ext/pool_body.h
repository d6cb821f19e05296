/* The row kernels of 2-D pooling for one element type T at one ISA level (pool_isa.h includes
   this for float and double through isa_types.h). Each computes one output row of one sample over
   a (H, W, K) view; the semantics (clipped windows, first maximum in row-major order) are those of
   _pool.pyx's docstring, and the arithmetic is the Cython kernels' to the letter, so the bits stay
   theirs: on the FMA levels avg pooling's backward contracts as -march=native did. */

/* take ? a : b as a mask blend: an int32 select under a float compare stays a branch on SSE2
   (it has no such blend), which kept max pooling scalar there */
static inline __attribute__((always_inline)) int32_t FN(pick)(int take, int32_t a, int32_t b) {
    int32_t mask = -(int32_t)take;
    return (a & mask) | (b & ~mask);
}

/* one clipped window of a one-channel plane, kept in registers; selects, not branches: random
   data mispredicts half the time */
static inline void FN(max_window)(const T* xs, T* yo, int32_t* ao, int64_t h0, int64_t h1,
                                  int64_t w0, int64_t w1, int64_t W) {
    int32_t best = (int32_t)(h0 * W + w0);
    T m = xs[best];
    for (int64_t h = h0; h < h1; h++) {
        for (int64_t w = w0; w < w1; w++) {
            int32_t pos = (int32_t)(h * W + w);
            T v = xs[pos];
            int take = v > m;
            best = take ? pos : best;
            m = take ? v : m;
        }
    }
    yo[0] = m;
    ao[0] = best;
}

/* K == 1 (channels_first planes): windows that lie fully inside the row are swept offset by offset
   in row-major order with the output columns innermost (a loop that vectorizes); the clipped
   windows at either edge go one by one */
static inline void FN(max_row_plane)(const T* restrict xs, T* restrict yrow, int32_t* restrict arow,
                                     int64_t h0, int64_t h1, const mg_pool_geom* g) {
    int64_t W = g->W, OW = g->OW, sw = g->stride_w, pl = g->pad_left, pw = g->pool_w;
    int64_t lo = (pl + sw - 1) / sw, hi = W + pl >= pw ? (W + pl - pw) / sw + 1 : 0;
    hi = hi < OW ? hi : OW;
    lo = lo < hi ? lo : hi;
    for (int64_t ow = 0; ow < OW; ow++) {
        if (ow < lo || ow >= hi) {
            int64_t w0, w1;
            mg_pool_span(ow, sw, pl, pw, W, &w0, &w1);
            FN(max_window)(xs, yrow + ow, arow + ow, h0, h1, w0, w1, W);
        }
    }
    for (int64_t ow = lo; ow < hi; ow++) {
        int32_t pos = (int32_t)(h0 * W + ow * sw - pl);
        yrow[ow] = xs[pos];
        arow[ow] = pos;
    }
    for (int64_t h = h0; h < h1; h++) {
        for (int64_t dw = 0; dw < pw; dw++) {
            int64_t base = h * W - pl + dw;
            for (int64_t ow = lo; ow < hi; ow++) {
                T v = xs[base + ow * sw];  /* an int64 index: an int32 one blocks vectorizing */
                T m = yrow[ow];
                yrow[ow] = v > m ? v : m;
                arow[ow] = FN(pick)(v > m, (int32_t)(base + ow * sw), arow[ow]);
            }
        }
    }
}

/* One native vector of channels (GCC's vector extensions: the same code for every level, lowered
   to this level's registers): the running maximum and its argmax stay in registers over the whole
   window, where a loop over a runtime K re-stores the output row once per window element. */
#ifdef ISA_BITS
#define MG_POOL_VB (ISA_BITS / 8)
#else
#define MG_POOL_VB 16  /* baseline x86-64: SSE2 */
#endif
#define MG_POOL_CB (MG_POOL_VB / (int64_t)sizeof(T))  /* channels per block */
typedef T FN(vec) __attribute__((vector_size(MG_POOL_VB)));
typedef __typeof__((FN(vec)){0} > (FN(vec)){0}) FN(mask);  /* -1 / 0 lanes as wide as T */
typedef int32_t FN(vidx) __attribute__((vector_size(4 * MG_POOL_CB)));

/* y (and, when want_arg, argmax) of MG_POOL_CB channels at one output pixel; strict > keeps the
   first maximum in row-major order, and a NaN first element stays (as in max_window) */
static inline __attribute__((always_inline)) void FN(max_block)(
        const T* restrict xs, T* restrict yo, int32_t* restrict ao, int64_t K, int64_t h0,
        int64_t h1, int64_t w0, int64_t w1, int64_t W, int want_arg) {
    const int32_t first = (int32_t)(h0 * W + w0);
    FN(vec) m, v;
    memcpy(&m, xs + first * K, sizeof m);
    FN(vidx) a = (FN(vidx)){0} + first;
    for (int64_t h = h0; h < h1; h++) {
        for (int64_t w = w0; w < w1; w++) {
            const int32_t pos = (int32_t)(h * W + w);
            memcpy(&v, xs + (int64_t)pos * K, sizeof v);
            const FN(mask) take = v > m;
            m = (FN(vec))((take & (FN(mask))v) | (~take & (FN(mask))m));
            if (want_arg) {
                const FN(vidx) t = __builtin_convertvector(take, FN(vidx));
                a = (t & pos) | (~t & a);
            }
        }
    }
    memcpy(yo, &m, sizeof m);
    if (want_arg) memcpy(ao, &a, sizeof a);
}

/* the channels [c0, K) of one output pixel, one at a time through the output row (ragged K) */
static inline void FN(max_tail)(const T* restrict xs, T* restrict yo, int32_t* restrict ao,
                                int64_t c0, int64_t K, int64_t h0, int64_t h1, int64_t w0,
                                int64_t w1, int64_t W) {
    const int32_t first = (int32_t)(h0 * W + w0);
    for (int64_t c = c0; c < K; c++) {
        yo[c] = xs[first * K + c];
        if (ao != NULL) ao[c] = first;
    }
    for (int64_t h = h0; h < h1; h++) {
        for (int64_t w = w0; w < w1; w++) {
            const int32_t pos = (int32_t)(h * W + w);
            const T* src = xs + (int64_t)pos * K;
            for (int64_t c = c0; c < K; c++) {  /* unconditional stores of blends: vectorizes */
                const T v = src[c], m = yo[c];
                yo[c] = v > m ? v : m;
                if (ao != NULL) ao[c] = FN(pick)(v > m, pos, ao[c]);
            }
        }
    }
}

/* y[oh, :, :] of one sample and, unless arow is NULL (inference), its argmax */
static void FN(max_row)(const T* restrict xs, T* restrict yrow, int32_t* restrict arow, int64_t oh,
                        const mg_pool_geom* g) {
    int64_t K = g->K, W = g->W, h0, h1;
    mg_pool_span(oh, g->stride_h, g->pad_top, g->pool_h, g->H, &h0, &h1);
    if (K == 1 && arow != NULL) {
        FN(max_row_plane)(xs, yrow, arow, h0, h1, g);
        return;
    }
    const int64_t blocked = K / MG_POOL_CB * MG_POOL_CB;
    for (int64_t ow = 0; ow < g->OW; ow++) {
        int64_t w0, w1;
        mg_pool_span(ow, g->stride_w, g->pad_left, g->pool_w, W, &w0, &w1);
        T* yo = yrow + ow * K;
        int32_t* ao = arow != NULL ? arow + ow * K : NULL;
        for (int64_t c0 = 0; c0 < blocked; c0 += MG_POOL_CB) {
            if (ao != NULL)
                FN(max_block)(xs + c0, yo + c0, ao + c0, K, h0, h1, w0, w1, W, 1);
            else
                FN(max_block)(xs + c0, yo + c0, NULL, K, h0, h1, w0, w1, W, 0);
        }
        if (blocked < K) FN(max_tail)(xs, yo, ao, blocked, K, h0, h1, w0, w1, W);
    }
}

/* dx of output row oh when windows do not overlap (stride >= pool on both axes): every position
   of each window gets dy where the argmax names it, else 0, a whole vector of channels at a time
   (stores, no scatter); the ragged channels scatter into rows the driver has zeroed. Returns the
   argmax entries that name no position of their window (none in the forward's record). */
static int64_t FN(max_row_backward)(const T* restrict grow, const int32_t* restrict arow,
                                    T* restrict dxs, int64_t oh, const mg_pool_geom* g) {
    int64_t K = g->K, W = g->W, h0, h1, bad = 0;
    mg_pool_span(oh, g->stride_h, g->pad_top, g->pool_h, g->H, &h0, &h1);
    const int64_t blocked = K / MG_POOL_CB * MG_POOL_CB;
    for (int64_t ow = 0; ow < g->OW; ow++) {
        int64_t w0, w1;
        mg_pool_span(ow, g->stride_w, g->pad_left, g->pool_w, W, &w0, &w1);
        const T* go = grow + ow * K;
        const int32_t* ao = arow + ow * K;
        for (int64_t c0 = 0; c0 < blocked; c0 += MG_POOL_CB) {
            FN(vec) gv, out;
            FN(vidx) av, found = (FN(vidx)){0};
            memcpy(&gv, go + c0, sizeof gv);
            memcpy(&av, ao + c0, sizeof av);
            for (int64_t h = h0; h < h1; h++) {
                for (int64_t w = w0; w < w1; w++) {
                    const int32_t pos = (int32_t)(h * W + w);
                    const FN(vidx) hit = av == pos;
                    found |= hit;
                    out = (FN(vec))((FN(mask))gv & __builtin_convertvector(hit, FN(mask)));
                    memcpy(dxs + (int64_t)pos * K + c0, &out, sizeof out);
                }
            }
            for (int64_t l = 0; l < MG_POOL_CB; l++) bad += found[l] == 0;
        }
        for (int64_t c = blocked; c < K; c++) {
            const int64_t a = ao[c], h = a / W, w = a % W;
            if (a < 0 || h < h0 || h >= h1 || w < w0 || w >= w1)
                bad++;
            else
                dxs[a * K + c] = go[c];
        }
    }
    return bad;
}

/* y[oh, :, :] of one sample: the mean over the valid part of each window */
static void FN(avg_row)(const T* restrict xs, T* restrict yrow, int64_t oh, const mg_pool_geom* g) {
    int64_t K = g->K, W = g->W, h0, h1;
    mg_pool_span(oh, g->stride_h, g->pad_top, g->pool_h, g->H, &h0, &h1);
    for (int64_t ow = 0; ow < g->OW; ow++) {
        int64_t w0, w1;
        mg_pool_span(ow, g->stride_w, g->pad_left, g->pool_w, W, &w0, &w1);
        T* yo = yrow + ow * K;
        for (int64_t c = 0; c < K; c++) yo[c] = 0;
        for (int64_t h = h0; h < h1; h++) {
            for (int64_t w = w0; w < w1; w++) {
                const T* src = xs + (h * W + w) * K;
                for (int64_t c = 0; c < K; c++) yo[c] = yo[c] + src[c];
            }
        }
        T inv = (T)1 / (T)((h1 - h0) * (w1 - w0));
        for (int64_t c = 0; c < K; c++) yo[c] = yo[c] * inv;
    }
}

/* dy's row oh spread evenly over the valid elements of each window (dxs: one sample's dx) */
static void FN(avg_row_backward)(const T* restrict grow, T* restrict dxs, int64_t oh,
                                 const mg_pool_geom* g) {
    int64_t K = g->K, W = g->W, h0, h1;
    mg_pool_span(oh, g->stride_h, g->pad_top, g->pool_h, g->H, &h0, &h1);
    for (int64_t ow = 0; ow < g->OW; ow++) {
        int64_t w0, w1;
        mg_pool_span(ow, g->stride_w, g->pad_left, g->pool_w, W, &w0, &w1);
        const T* go = grow + ow * K;
        T inv = (T)1 / (T)((h1 - h0) * (w1 - w0));
        for (int64_t h = h0; h < h1; h++) {
            for (int64_t w = w0; w < w1; w++) {
                T* dst = dxs + (h * W + w) * K;
                for (int64_t c = 0; c < K; c++) dst[c] = dst[c] + go[c] * inv;
            }
        }
    }
}

#undef MG_POOL_CB
#undef MG_POOL_VB

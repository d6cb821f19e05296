/* One implicit-GEMM register tile: MG_R (6) rows x NV vectors of accumulators, each a named local
   (c<row><vector>) so that no compiler tuning can decide to keep the tile in an array on the stack.
   Included by conv_body.h once per NV in 1..NV_MAX, with T, V, L, FN and the V* macros defined.
   A tile broadcasts one scalar per row and loads NV vectors per step: 6 x 4 = 24 accumulators + 4
   loads + 1 broadcast of the 32 zmm registers, 6 x 2 = 12 + 2 + 1 of the 16 ymm/xmm. */
#if NV >= 2
#define IF2(s) s
#else
#define IF2(s)
#endif
#if NV >= 3
#define IF3(s) s
#else
#define IF3(s)
#endif
#if NV >= 4
#define IF4(s) s
#else
#define IF4(s)
#endif
#define DECL(r) V c##r##0 = VZERO(); IF2(V c##r##1 = VZERO();) IF3(V c##r##2 = VZERO();) IF4(V c##r##3 = VZERO();)
#define LOADS(src) V v0 = VLOAD(src); IF2(V v1 = VLOAD((src) + L);) IF3(V v2 = VLOAD((src) + 2 * L);) IF4(V v3 = VLOAD((src) + 3 * L);)
#define RANK1(r, s) { V s_ = VSET1(s); c##r##0 = VFMA(s_, v0, c##r##0); IF2(c##r##1 = VFMA(s_, v1, c##r##1);) IF3(c##r##2 = VFMA(s_, v2, c##r##2);) IF4(c##r##3 = VFMA(s_, v3, c##r##3);) }
/* dst[q*L..] = acc (+ what dst held when ADD, + bias when b != NULL) for the NV vectors of a row */
#define PUT(r, dst, ADD, b) { VSTORE((dst), VADD(c##r##0, ADD ? VLOAD(dst) : (b) ? VLOAD(b) : VZERO())); IF2(VSTORE((dst) + L, VADD(c##r##1, ADD ? VLOAD((dst) + L) : (b) ? VLOAD((b) + L) : VZERO()));) IF3(VSTORE((dst) + 2 * L, VADD(c##r##2, ADD ? VLOAD((dst) + 2 * L) : (b) ? VLOAD((b) + 2 * L) : VZERO()));) IF4(VSTORE((dst) + 3 * L, VADD(c##r##3, ADD ? VLOAD((dst) + 3 * L) : (b) ? VLOAD((b) + 3 * L) : VZERO()));) }
#define ALL_ROWS(M) M(0) M(1) M(2) M(3) M(4) M(5)

/* y rows (pixels, ldy apart) of xr[0..5], NV filter vectors: y = b + sum over taps t and channels
   c of x[pixel window + toff[t] + c] * w[t, c, :]; w, b and y start at the tile's first vector */
static inline __attribute__((always_inline)) void FN(MG_CAT(ig_fwd_tile, NV))(
        const T* const* xr, const int64_t* toff, int64_t taps, int64_t C, int64_t F, const T* w,
        const T* b, T* y, int64_t ldy, int64_t rows) {
#define D(r) DECL(r)
    ALL_ROWS(D)
#undef D
    for (int64_t t = 0; t < taps; t++) {
        const T* wt = w + t * C * F;
        const T *x0 = xr[0] + toff[t], *x1 = xr[1] + toff[t], *x2 = xr[2] + toff[t];
        const T *x3 = xr[3] + toff[t], *x4 = xr[4] + toff[t], *x5 = xr[5] + toff[t];
        for (int64_t c = 0; c < C; c++, wt += F) {
            LOADS(wt)
            RANK1(0, x0[c]) RANK1(1, x1[c]) RANK1(2, x2[c])
            RANK1(3, x3[c]) RANK1(4, x4[c]) RANK1(5, x5[c])
        }
    }
#define S(r) if (r < rows) PUT(r, y + r * ldy, 0, b)
    ALL_ROWS(S)
#undef S
}

/* dw rows k = (tap, c) at offsets ko[0..5] of a window, NV filter vectors:
   dw[k, :] += sum over pixels of x[pixel window + ko[k]] * dy[pixel, :] */
static inline __attribute__((always_inline)) void FN(MG_CAT(ig_dw_tile, NV))(
        const mg_conv_plan* p, const T* xp, const int64_t* ko, const T* dy, int64_t nimg, T* dw,
        int64_t rows) {
    const int64_t F = p->F, C = p->C, xs = p->stride_w * C;
#define D(r) DECL(r)
    ALL_ROWS(D)
#undef D
    for (int64_t n = 0; n < nimg; n++)
        for (int64_t oh = 0; oh < p->OH; oh++) {
            const T* xb = xp + (n * p->xp_h + oh * p->stride_h) * p->xp_w * C;
            const T *x0 = xb + ko[0], *x1 = xb + ko[1], *x2 = xb + ko[2];
            const T *x3 = xb + ko[3], *x4 = xb + ko[4], *x5 = xb + ko[5];
            const T* d = dy + (n * p->OH + oh) * p->OW * F;
            for (int64_t ow = 0; ow < p->OW; ow++, d += F) {
                const int64_t o = ow * xs;
                LOADS(d)
                RANK1(0, x0[o]) RANK1(1, x1[o]) RANK1(2, x2[o])
                RANK1(3, x3[o]) RANK1(4, x4[o]) RANK1(5, x5[o])
            }
        }
#define S(r) if (r < rows) PUT(r, dw + r * F, 1, (const T*)0)
    ALL_ROWS(S)
#undef S
}

/* dx (padded) rows: pixels dr[0..5] of dy times wT (F, Kg), NV column vectors starting at column
   k0; each vector is added where its (tap, c) lands (C is a multiple of L: no vector straddles) */
static inline __attribute__((always_inline)) void FN(MG_CAT(ig_dx_tile, NV))(
        const mg_conv_plan* p, const T* const* dr, const int64_t* base, const int64_t* toff,
        const T* wT, T* dxp, int64_t k0, int64_t rows) {
    const int64_t F = p->F, C = p->C, Kg = p->Kg;
#define D(r) DECL(r)
    ALL_ROWS(D)
#undef D
    const T *d0 = dr[0], *d1 = dr[1], *d2 = dr[2], *d3 = dr[3], *d4 = dr[4], *d5 = dr[5];
    const T* wf = wT + k0;
    for (int64_t f = 0; f < F; f++, wf += Kg) {
        LOADS(wf)
        RANK1(0, d0[f]) RANK1(1, d1[f]) RANK1(2, d2[f])
        RANK1(3, d3[f]) RANK1(4, d4[f]) RANK1(5, d5[f])
    }
    /* vector q of the tile covers columns k0 + q*L ..: tap (k / C), channel k % C */
#define AT(r, q) (dxp + base[r] + toff[(k0 + (q) * L) / C] + (k0 + (q) * L) % C)
#define S(r) if (r < rows) { VSTORE(AT(r, 0), VADD(c##r##0, VLOAD(AT(r, 0)))); IF2(VSTORE(AT(r, 1), VADD(c##r##1, VLOAD(AT(r, 1))));) IF3(VSTORE(AT(r, 2), VADD(c##r##2, VLOAD(AT(r, 2))));) IF4(VSTORE(AT(r, 3), VADD(c##r##3, VLOAD(AT(r, 3))));) }
    ALL_ROWS(S)
#undef S
#undef AT
}
/* out rows r (columns ko[r] of a), NV vectors: out[r, :] += sum over k < K of
   a[k * lda + ko[r]] * bm[k * ldb + :], a GEMM a^T @ bm whose inner dimension is long */
static inline __attribute__((always_inline)) void FN(MG_CAT(tn_tile, NV))(
        const T* a, int64_t lda, const int64_t* ko, const T* bm, int64_t ldb, int64_t K, T* out,
        int64_t ldo, int64_t rows) {
#define D(r) DECL(r)
    ALL_ROWS(D)
#undef D
    const T *a0 = a + ko[0], *a1 = a + ko[1], *a2 = a + ko[2];
    const T *a3 = a + ko[3], *a4 = a + ko[4], *a5 = a + ko[5];
    for (int64_t k = 0; k < K; k++, bm += ldb) {
        const int64_t o = k * lda;
        LOADS(bm)
        RANK1(0, a0[o]) RANK1(1, a1[o]) RANK1(2, a2[o])
        RANK1(3, a3[o]) RANK1(4, a4[o]) RANK1(5, a5[o])
    }
#define S(r) if (r < rows) PUT(r, out + r * ldo, 1, (const T*)0)
    ALL_ROWS(S)
#undef S
}
#undef IF2
#undef IF3
#undef IF4
#undef DECL
#undef LOADS
#undef RANK1
#undef PUT
#undef ALL_ROWS

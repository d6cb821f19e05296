/* Included by conv_body.h (same T, V, L, FN and vector macros), after the implicit GEMM's tiles.
   ---- Winograd F(4x4, 3x3) (3x3 kernel, stride 1, dilation 1, one group, C and F multiples of L) ----
   Each 4x4 output tile is A^T [U (.) (B^T d B)] A of its 6x6 input tile d, U = G w G^T per (c, f)
   (Lavin & Gray 2016, points 0, +-1, +-2, infinity): 36 multiplications per tile and (c, f) instead
   of 144. Summed over channels, the 36 products are 36 GEMMs (tiles x C) @ (C x F), run by the
   implicit GEMM's register tile with a single tap. U comes transformed by kernels.conv_winograd,
   [36][C][F]. ws holds V [tiles][36][C], then M [tiles][36][F], then MG_WINO_SCRATCH elements where
   a transform keeps its first pass, then max(C, F) zeros: the plan's slot
   (kernels.conv_winograd.slot). A tile's 36 elements lie together, so each transform reads and
   writes one block (36 planes apart, they missed L1 on every load and could all fall in one set).
   Element e = 6 * row + column.
       B^T = [4  0 -5  0 1 0]     A^T = [1 1  1 1  1 0]
             [0 -4 -4  1 1 0]           [0 1 -1 2 -2 0]
             [0  4 -4 -1 1 0]           [0 1  1 4  4 0]
             [0 -2 -1  2 1 0]           [0 1 -1 8 -8 1]
             [0  2 -1 -2 1 0]
             [0  4  0 -5 0 1]                                                              */
#define WA 6   /* input tile side */
#define WM 4   /* output tile side */
#define WE MG_WINO_ELEMENTS  /* elements of a transformed tile: the GEMMs */
_Static_assert(WE * L <= MG_WINO_SCRATCH, "a transform's first pass outgrows its scratch");

/* out[k * step] = (B^T d)[k] for k < 6, each output as soon as its inputs are (few live values:
   AVX2 has 16 registers) */
static inline void FN(wino_in6)(const V* d, T* out, int64_t step) {
    const V four = VSET1((T)4), m4 = VSET1((T)-4), m5 = VSET1((T)-5);
    VSTORE(out, VFMA(four, d[0], VFMA(m5, d[2], d[4])));
    VSTORE(out + 5 * step, VFMA(four, d[1], VFMA(m5, d[3], d[5])));
    const V a = VFMA(m4, d[2], d[4]), b = VFMA(m4, d[1], d[3]);
    VSTORE(out + step, VADD(a, b));
    VSTORE(out + 2 * step, VSUB(a, b));
    const V c = VSUB(d[4], d[2]), h = VSUB(d[3], d[1]), e = VADD(h, h);
    VSTORE(out + 3 * step, VADD(c, e));
    VSTORE(out + 4 * step, VSUB(c, e));
}

/* V[t][e][c..c+L) of the tile whose top-left input pixel is (h0, w0) of image xn; pixels outside
   read C zeros */
static void FN(wino_input_tile)(const mg_conv_plan* p, const T* xn, int64_t h0, int64_t w0, T* vt,
                                T* tmp, const T* zeros) {
    const int64_t H = p->H, W = p->W, C = p->C;
    const T* src[WE];
    for (int64_t i = 0; i < WA; i++)
        for (int64_t j = 0; j < WA; j++) {
            const int64_t h = h0 + i, w = w0 + j;
            src[WA * i + j] = h >= 0 && h < H && w >= 0 && w < W ? xn + (h * W + w) * C : zeros;
        }
    for (int64_t c = 0; c < C; c += L) {
        /* (B^T d)[i][j] into tmp, read back by row below */
        for (int64_t j = 0; j < WA; j++) {
            V d[WA];
            for (int64_t i = 0; i < WA; i++)
                d[i] = VLOAD(src[WA * i + j] + c);
            FN(wino_in6)(d, tmp + j * L, WA * L);
        }
        for (int64_t i = 0; i < WA; i++) {  /* row i of (B^T d) B */
            V r[WA];
            for (int64_t j = 0; j < WA; j++) r[j] = VLOAD(tmp + (WA * i + j) * L);
            FN(wino_in6)(r, vt + WA * i * C + c, C);
        }
    }
}

/* V [tiles][36][C] of images n0..n1 */
static void FN(wino_inputs)(const mg_conv_plan* p, const T* x, int64_t n0, int64_t n1, T* vb,
                            T* tmp, const T* zeros) {
    for (int64_t n = n0, t = 0; n < n1; n++)
        for (int64_t th = 0; th < p->tiles_h; th++)
            for (int64_t tw = 0; tw < p->tiles_w; tw++, t++)
                FN(wino_input_tile)(p, x + n * p->H * p->W * p->C, WM * th - p->pad_top,
                                    WM * tw - p->pad_left, vb + t * WE * p->C, tmp, zeros);
}

/* (A^T m)[k] for k < 4 */
static inline void FN(wino_out6)(const V* m, V* out) {
    const V two = VSET1((T)2), four = VSET1((T)4), eight = VSET1((T)8);
    const V s = VADD(m[1], m[2]), d = VSUB(m[1], m[2]), q = VSUB(m[3], m[4]);
    const V pp = VADD(m[3], m[4]);
    out[0] = VADD(VADD(m[0], s), pp);
    out[1] = VFMA(two, q, d);
    out[2] = VFMA(four, pp, s);
    out[3] = VADD(VFMA(eight, q, d), m[5]);
}

/* the 4x4 pixels of tile t (top-left output pixel (oh, ow) of image n) from M, plus the bias;
   pixels past OH, OW are not stored */
static void FN(wino_output_tile)(const mg_conv_plan* p, const T* mt, const T* b, T* yn,
                                 int64_t oh, int64_t ow, T* tmp) {
    const int64_t F = p->F, OW = p->OW;
    const int64_t rows = p->OH - oh < WM ? p->OH - oh : WM, cols = OW - ow < WM ? OW - ow : WM;
    for (int64_t f = 0; f < F; f += L) {
        for (int64_t j = 0; j < WA; j++) {  /* (A^T M)[i][j] into tmp, column by column */
            V m[WA], o[WM];
            for (int64_t a = 0; a < WA; a++) m[a] = VLOAD(mt + (WA * a + j) * F + f);
            FN(wino_out6)(m, o);
            for (int64_t i = 0; i < WM; i++) VSTORE(tmp + (WA * i + j) * L, o[i]);
        }
        const V bias = b != NULL ? VLOAD(b + f) : VZERO();
        for (int64_t i = 0; i < rows; i++) {
            V r[WA], o[WM];
            for (int64_t j = 0; j < WA; j++) r[j] = VLOAD(tmp + (WA * i + j) * L);
            FN(wino_out6)(r, o);
            T* yr = yn + ((oh + i) * OW + ow) * F + f;
            for (int64_t j = 0; j < cols; j++) VSTORE(yr + j * F, VADD(o[j], bias));
        }
    }
}

/* M[e] = V[e] @ U[e] for the 36 elements: rows of 6 tiles, the tile widths of ig_forward */
static void FN(wino_products)(const mg_conv_plan* p, const T* vb, const T* U, T* mb, int64_t nt) {
    const int64_t C = p->C, F = p->F, nv = F / L, nblk = (nv + NV_MAX - 1) / NV_MAX, zero = 0;
    for (int64_t e = 0; e < WE; e++) {
        const T* ve = vb + e * C;
        const T* ue = U + e * C * F;
        T* me = mb + e * F;
        for (int64_t t0 = 0; t0 < nt; t0 += 6) {
            const int64_t rows = nt - t0 < 6 ? nt - t0 : 6;
            const T* xr[6];  /* rows past the end repeat the last tile, and are not stored */
            for (int64_t r = 0; r < 6; r++) xr[r] = ve + (t0 + (r < rows ? r : rows - 1)) * WE * C;
            for (int64_t blk = 0, v0 = 0; blk < nblk; blk++) {
                const int64_t nw = FN(width)(nv, nblk, blk), o = v0 * L, ld = WE * F;
                T* mm = me + t0 * ld + o;
                if (nw == 1) FN(ig_fwd_tile1)(xr, &zero, 1, C, F, ue + o, NULL, mm, ld, rows);
                else if (nw == 2) FN(ig_fwd_tile2)(xr, &zero, 1, C, F, ue + o, NULL, mm, ld, rows);
#if NV_MAX >= 3
                else if (nw == 3) FN(ig_fwd_tile3)(xr, &zero, 1, C, F, ue + o, NULL, mm, ld, rows);
                else FN(ig_fwd_tile4)(xr, &zero, 1, C, F, ue + o, NULL, mm, ld, rows);
#endif
                v0 += nw;
            }
        }
    }
}

/* A pass over images n0..n1 (at most p->wino_images): lays out ws (V at ws, then M, *mb, then the
   scratch, *tmp, then the zeros) and fills V; returns the pass's tiles */
static int64_t FN(wino_pass)(const mg_conv_plan* p, const T* x, int64_t n0, int64_t n1, T* ws,
                             T** mb, T** tmp) {
    const int64_t nt = (n1 - n0) * p->tiles_h * p->tiles_w;
    *mb = ws + WE * nt * p->C;
    *tmp = *mb + WE * nt * p->F;
    T* zeros = *tmp + MG_WINO_SCRATCH;
    memset(zeros, 0, p->C * sizeof(T));
    FN(wino_inputs)(p, x, n0, n1, ws, *tmp, zeros);
    return nt;
}

/* images n0..n1 of y (at most p->wino_images) */
static void FN(wino_forward_group)(const mg_conv_plan* p, const T* x, const T* U, const T* b, T* y,
                                   int64_t n0, int64_t n1, T* ws) {
    const int64_t F = p->F, TH = p->tiles_h, TW = p->tiles_w;
    T *mb, *tmp;
    const int64_t nt = FN(wino_pass)(p, x, n0, n1, ws, &mb, &tmp);
    FN(wino_products)(p, ws, U, mb, nt);
    for (int64_t n = n0, t = 0; n < n1; n++)
        for (int64_t th = 0; th < TH; th++)
            for (int64_t tw = 0; tw < TW; tw++, t++)
                FN(wino_output_tile)(p, mb + t * WE * F, b, y + n * p->OH * p->OW * F, WM * th,
                                     WM * tw, tmp);
}

/* images n0..n1 of y, p->wino_images at a time: their V and M stay in L2 between the transforms
   and the GEMMs (a whole chunk's did not for the input gradient: 1.5 MB) */
static void FN(wino_forward)(const mg_conv_plan* p, const T* x, const T* U, const T* b, T* y,
                             int64_t n0, int64_t n1, T* ws) {
    for (int64_t g = n0; g < n1; g += p->wino_images)
        FN(wino_forward_group)(p, x, U, b, y, g, n1 - g < p->wino_images ? n1 : g + p->wino_images,
                               ws);
}

/* ---- weight gradient: dU[e] = sum over tiles of V[e]^T (A dY A^T)[e] (kernels.conv_winograd
   makes dw = G^T dU G of it). Pixels of a tile past OH, OW have no dy: they count as 0. ---- */
static inline void FN(wino_dy4)(const V* a, T* out, int64_t step) {  /* (A a)[k], k < 6 */
    const V four = VSET1((T)4), eight = VSET1((T)8);
    const V e = VADD(a[0], a[2]), o = VADD(a[1], a[3]);
    const V e2 = VFMA(four, a[2], a[0]), o2 = VFMA(eight, a[3], VADD(a[1], a[1]));
    VSTORE(out, a[0]);
    VSTORE(out + step, VADD(e, o));
    VSTORE(out + 2 * step, VSUB(e, o));
    VSTORE(out + 3 * step, VADD(e2, o2));
    VSTORE(out + 4 * step, VSUB(e2, o2));
    VSTORE(out + 5 * step, a[3]);
}

/* D[t][e][f..f+L) = (A dY A^T)[e] of the tile whose top-left output pixel is (oh, ow) of image dyn */
static void FN(wino_dy_tile)(const mg_conv_plan* p, const T* dyn, int64_t oh, int64_t ow, T* dt,
                             T* tmp) {
    const int64_t F = p->F, OW = p->OW;
    const int64_t rows = p->OH - oh < WM ? p->OH - oh : WM, cols = OW - ow < WM ? OW - ow : WM;
    for (int64_t f = 0; f < F; f += L) {
        /* (A dY)[k][j] into tmp */
        for (int64_t j = 0; j < WM; j++) {
            V a[WM];
            for (int64_t i = 0; i < WM; i++)
                a[i] = i < rows && j < cols ? VLOAD(dyn + ((oh + i) * OW + ow + j) * F + f) : VZERO();
            FN(wino_dy4)(a, tmp + j * L, WM * L);
        }
        for (int64_t k = 0; k < WA; k++) {  /* row k of (A dY) A^T */
            V r[WM];
            for (int64_t j = 0; j < WM; j++) r[j] = VLOAD(tmp + (WM * k + j) * L);
            FN(wino_dy4)(r, dt + WA * k * F + f, F);
        }
    }
}

/* dU [36][C][F] += the images n0..n1's share (at most p->wino_images); ws: the forward's slot */
static void FN(wino_dweights_group)(const mg_conv_plan* p, const T* x, const T* dy, T* dU,
                                    int64_t n0, int64_t n1, T* ws) {
    const int64_t C = p->C, F = p->F, TH = p->tiles_h, TW = p->tiles_w;
    const int64_t nv = F / L, nblk = (nv + NV_MAX - 1) / NV_MAX;
    const T* vb = ws;
    T *db, *tmp;
    const int64_t nt = FN(wino_pass)(p, x, n0, n1, ws, &db, &tmp);
    for (int64_t n = n0, t = 0; n < n1; n++)
        for (int64_t th = 0; th < TH; th++)
            for (int64_t tw = 0; tw < TW; tw++, t++)
                FN(wino_dy_tile)(p, dy + n * p->OH * p->OW * F, WM * th, WM * tw, db + t * WE * F,
                                 tmp);
    for (int64_t e = 0; e < WE; e++) {
        const T* ve = vb + e * C;
        const T* de = db + e * F;
        for (int64_t c0 = 0; c0 < C; c0 += 6) {
            const int64_t rows = C - c0 < 6 ? C - c0 : 6;
            int64_t ko[6];  /* rows past C repeat the last channel, and are not stored */
            for (int64_t r = 0; r < 6; r++) ko[r] = c0 + (r < rows ? r : rows - 1);
            for (int64_t blk = 0, v0 = 0; blk < nblk; blk++) {
                const int64_t nw = FN(width)(nv, nblk, blk), o = v0 * L;
                T* out = dU + (e * C + c0) * F + o;
                if (nw == 1) FN(tn_tile1)(ve, WE * C, ko, de + o, WE * F, nt, out, F, rows);
                else if (nw == 2) FN(tn_tile2)(ve, WE * C, ko, de + o, WE * F, nt, out, F, rows);
#if NV_MAX >= 3
                else if (nw == 3) FN(tn_tile3)(ve, WE * C, ko, de + o, WE * F, nt, out, F, rows);
                else FN(tn_tile4)(ve, WE * C, ko, de + o, WE * F, nt, out, F, rows);
#endif
                v0 += nw;
            }
        }
    }
}
static void FN(wino_dweights)(const mg_conv_plan* p, const T* x, const T* dy, T* dU, int64_t n0,
                              int64_t n1, T* ws) {
    for (int64_t g = n0; g < n1; g += p->wino_images)
        FN(wino_dweights_group)(p, x, dy, dU, g,
                                n1 - g < p->wino_images ? n1 : g + p->wino_images, ws);
}
#undef WA
#undef WM
#undef WE

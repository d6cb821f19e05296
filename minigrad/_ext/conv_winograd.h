/* Included by conv_body.h (same T, V, L, FN and vector macros), after the implicit GEMM's tiles. */
/* ---- Winograd F(2x2, 3x3) (3x3 kernel, stride 1, dilation 1, one group, C and F multiples of L) ----
   Each 2x2 output tile is A^T [U (.) (B^T d B)] A of its 4x4 input tile d, U = G w G^T per (c, f):
   16 multiplications per tile and (c, f) instead of 36. Summed over channels, the 16 products are
   16 GEMMs (tiles x C) @ (C x F), run by the implicit GEMM's register tile with a single tap.
   U comes transformed by kernels.conv, [16][C][F]; ws holds V [16][tiles][C], then M [16][tiles][F].
   With B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] and A^T = [1 1 1 0; 0 1 -1 -1]. */
static inline void FN(wino_in4)(V a, V b, V c, V d, T* out, int64_t step) {  /* B^T [a b c d] */
    VSTORE(out, VSUB(a, c));
    VSTORE(out + step, VADD(b, c));
    VSTORE(out + 2 * step, VSUB(c, b));
    VSTORE(out + 3 * step, VSUB(b, d));
}

/* V[e][t][c..c+L) of tile t whose top-left input pixel is (h0, w0) of image xn (zero outside) */
static void FN(wino_input_tile)(const mg_conv_plan* p, const T* xn, int64_t h0, int64_t w0, T* vt,
                                int64_t nt) {
    const int64_t H = p->H, W = p->W, C = p->C, step = nt * C;
    const T* src[16];
    for (int64_t i = 0; i < 4; i++)
        for (int64_t j = 0; j < 4; j++) {
            const int64_t h = h0 + i, w = w0 + j;
            src[4 * i + j] = h >= 0 && h < H && w >= 0 && w < W ? xn + (h * W + w) * C : NULL;
        }
    for (int64_t c = 0; c < C; c += L) {
        T tmp[16 * L];  /* (B^T d)[i][j], row i, column j: in L1, read back by column below */
        for (int64_t j = 0; j < 4; j++) {
            V d[4];
            for (int64_t i = 0; i < 4; i++)
                d[i] = src[4 * i + j] != NULL ? VLOAD(src[4 * i + j] + c) : VZERO();
            FN(wino_in4)(d[0], d[1], d[2], d[3], tmp + j * L, 4 * L);
        }
        for (int64_t i = 0; i < 4; i++) {  /* row i of (B^T d) B: e = 4i + j */
            const T* r = tmp + 4 * i * L;
            FN(wino_in4)(VLOAD(r), VLOAD(r + L), VLOAD(r + 2 * L), VLOAD(r + 3 * L),
                         vt + 4 * i * step + c, step);
        }
    }
}

/* the 2x2 pixels of tile t (top-left output pixel (oh, ow) of image n) from M, plus the bias;
   pixels past OH, OW are not stored */
static void FN(wino_output_tile)(const mg_conv_plan* p, const T* mt, int64_t nt, const T* b,
                                 T* yn, int64_t oh, int64_t ow) {
    const int64_t F = p->F, OW = p->OW, step = nt * F;
    const int two_rows = oh + 1 < p->OH, two_cols = ow + 1 < OW;
    for (int64_t f = 0; f < F; f += L) {
        V s0[4], s1[4];  /* A^T M: rows 0 and 1, per column */
        for (int64_t j = 0; j < 4; j++) {
            const V m0 = VLOAD(mt + j * step + f), m1 = VLOAD(mt + (4 + j) * step + f);
            const V m2 = VLOAD(mt + (8 + j) * step + f), m3 = VLOAD(mt + (12 + j) * step + f);
            s0[j] = VADD(VADD(m0, m1), m2);
            s1[j] = VSUB(VSUB(m1, m2), m3);
        }
        const V bias = b != NULL ? VLOAD(b + f) : VZERO();
        T* y0 = yn + (oh * OW + ow) * F + f;
        VSTORE(y0, VADD(VADD(VADD(s0[0], s0[1]), s0[2]), bias));
        if (two_cols) VSTORE(y0 + F, VADD(VSUB(VSUB(s0[1], s0[2]), s0[3]), bias));
        if (two_rows) {
            VSTORE(y0 + OW * F, VADD(VADD(VADD(s1[0], s1[1]), s1[2]), bias));
            if (two_cols) VSTORE(y0 + (OW + 1) * F, VADD(VSUB(VSUB(s1[1], s1[2]), s1[3]), bias));
        }
    }
}

/* V [16][nt][C] of images n0..n1 (nt tiles) */
static void FN(wino_inputs)(const mg_conv_plan* p, const T* x, int64_t n0, int64_t n1, T* vb,
                            int64_t nt) {
    for (int64_t n = n0, t = 0; n < n1; n++)
        for (int64_t th = 0; th < p->tiles_h; th++)
            for (int64_t tw = 0; tw < p->tiles_w; tw++, t++)
                FN(wino_input_tile)(p, x + n * p->H * p->W * p->C, 2 * th - p->pad_top,
                                    2 * tw - p->pad_left, vb + t * p->C, nt);
}

/* images n0..n1 of y; ws: 16 * tiles * (C + F) elements (the plan's slot) */
static void FN(wino_forward)(const mg_conv_plan* p, const T* x, const T* U, const T* b, T* y,
                             int64_t n0, int64_t n1, T* ws) {
    const int64_t C = p->C, F = p->F, TH = p->tiles_h, TW = p->tiles_w;
    const int64_t nt = (n1 - n0) * TH * TW, nv = F / L, nblk = (nv + NV_MAX - 1) / NV_MAX;
    T* vb = ws;
    T* mb = ws + 16 * nt * C;
    const int64_t zero = 0;
    FN(wino_inputs)(p, x, n0, n1, vb, nt);
    for (int64_t e = 0; e < 16; e++) {
        const T* ve = vb + e * nt * C;
        const T* ue = U + e * C * F;
        T* me = mb + e * nt * F;
        for (int64_t t0 = 0; t0 < nt; t0 += 6) {
            const int64_t rows = nt - t0 < 6 ? nt - t0 : 6;
            const T* xr[6];  /* rows past the end repeat the last tile, and are not stored */
            for (int64_t r = 0; r < 6; r++) xr[r] = ve + (t0 + (r < rows ? r : rows - 1)) * C;
            for (int64_t blk = 0, v0 = 0; blk < nblk; blk++) {
                const int64_t nw = FN(width)(nv, nblk, blk), o = v0 * L;
                T* mm = me + t0 * F + o;
                if (nw == 1) FN(ig_fwd_tile1)(xr, &zero, 1, C, F, ue + o, NULL, mm, rows);
                else if (nw == 2) FN(ig_fwd_tile2)(xr, &zero, 1, C, F, ue + o, NULL, mm, rows);
#if NV_MAX >= 3
                else if (nw == 3) FN(ig_fwd_tile3)(xr, &zero, 1, C, F, ue + o, NULL, mm, rows);
                else FN(ig_fwd_tile4)(xr, &zero, 1, C, F, ue + o, NULL, mm, rows);
#endif
                v0 += nw;
            }
        }
    }
    for (int64_t n = n0, t = 0; n < n1; n++)
        for (int64_t th = 0; th < TH; th++)
            for (int64_t tw = 0; tw < TW; tw++, t++)
                FN(wino_output_tile)(p, mb + t * F, nt, b, y + n * p->OH * p->OW * F, 2 * th,
                                     2 * tw);
}

/* ---- weight gradient: dU[e] = sum over tiles of V[e]^T (A dY A^T)[e], dw = G^T dU G (kernels.conv);
   A = [1 0; 1 1; 1 -1; 0 -1]. Pixels of a tile past OH, OW have no dy: they count as 0. ---- */
static inline void FN(wino_dy4)(V a, V b, T* out, int64_t step) {  /* A [a b] */
    VSTORE(out, a);
    VSTORE(out + step, VADD(a, b));
    VSTORE(out + 2 * step, VSUB(a, b));
    VSTORE(out + 3 * step, VSUB(VZERO(), b));
}

/* D[e][t][f..f+L) = (A dy A^T)[e] of tile t whose top-left output pixel is (oh, ow) of image dyn */
static void FN(wino_dy_tile)(const mg_conv_plan* p, const T* dyn, int64_t oh, int64_t ow, T* dt,
                             int64_t nt) {
    const int64_t F = p->F, OW = p->OW, step = nt * F;
    const int two_rows = oh + 1 < p->OH, two_cols = ow + 1 < OW;
    const T* d0 = dyn + (oh * OW + ow) * F;
    for (int64_t f = 0; f < F; f += L) {
        const V a = VLOAD(d0 + f), b = two_cols ? VLOAD(d0 + F + f) : VZERO();
        const V c = two_rows ? VLOAD(d0 + OW * F + f) : VZERO();
        const V d = two_rows && two_cols ? VLOAD(d0 + (OW + 1) * F + f) : VZERO();
        /* rows of A dy: [a b], [a+c b+d], [a-c b-d], [-c -d]; then each row times A^T */
        FN(wino_dy4)(a, b, dt + f, step);
        FN(wino_dy4)(VADD(a, c), VADD(b, d), dt + 4 * step + f, step);
        FN(wino_dy4)(VSUB(a, c), VSUB(b, d), dt + 8 * step + f, step);
        FN(wino_dy4)(VSUB(VZERO(), c), VSUB(VZERO(), d), dt + 12 * step + f, step);
    }
}

/* dU [16][C][F] += the images n0..n1's share; ws: the forward's slot */
static void FN(wino_dweights)(const mg_conv_plan* p, const T* x, const T* dy, T* dU, int64_t n0,
                              int64_t n1, T* ws) {
    const int64_t C = p->C, F = p->F, TH = p->tiles_h, TW = p->tiles_w;
    const int64_t nt = (n1 - n0) * TH * TW, nv = F / L, nblk = (nv + NV_MAX - 1) / NV_MAX;
    T* vb = ws;
    T* db = ws + 16 * nt * C;
    FN(wino_inputs)(p, x, n0, n1, vb, nt);
    for (int64_t n = n0, t = 0; n < n1; n++)
        for (int64_t th = 0; th < TH; th++)
            for (int64_t tw = 0; tw < TW; tw++, t++)
                FN(wino_dy_tile)(p, dy + n * p->OH * p->OW * F, 2 * th, 2 * tw, db + t * F, nt);
    for (int64_t e = 0; e < 16; e++) {
        const T* ve = vb + e * nt * C;
        const T* de = db + e * nt * F;
        for (int64_t c0 = 0; c0 < C; c0 += 6) {
            const int64_t rows = C - c0 < 6 ? C - c0 : 6;
            int64_t ko[6];  /* rows past C repeat the last channel, and are not stored */
            for (int64_t r = 0; r < 6; r++) ko[r] = c0 + (r < rows ? r : rows - 1);
            for (int64_t blk = 0, v0 = 0; blk < nblk; blk++) {
                const int64_t nw = FN(width)(nv, nblk, blk), o = v0 * L;
                T* out = dU + (e * C + c0) * F + o;
                if (nw == 1) FN(tn_tile1)(ve, C, ko, de + o, F, nt, out, F, rows);
                else if (nw == 2) FN(tn_tile2)(ve, C, ko, de + o, F, nt, out, F, rows);
#if NV_MAX >= 3
                else if (nw == 3) FN(tn_tile3)(ve, C, ko, de + o, F, nt, out, F, rows);
                else FN(tn_tile4)(ve, C, ko, de + o, F, nt, out, F, rows);
#endif
                v0 += nw;
            }
        }
    }
}

/* The conv kernels of one ISA level and one element type. conv_isa_*.c includes this once with
   T = float and once with T = double, after defining V (the vector type), L (its lanes), NV_MAX
   (widest implicit-GEMM tile, in vectors), FN(name) (the name with its ISA/type suffix) and the
   one-line vector operations VZERO, VLOAD, VSTORE, VSET1, VFMA (a*b + c), VADD, VSUB.
   Every size and offset is int64_t and comes from a checked mg_conv_plan (conv_plan.h). */
#define BW (2 * L)  /* filters per block of the direct kernels: two vectors */

/* [lo, hi) of k in [0, count) with 0 <= offset + k*stride < size (lo == hi when none) */
static inline void FN(inside)(int64_t offset, int64_t stride, int64_t size, int64_t count,
                              int64_t* lo, int64_t* hi) {
    int64_t l = offset < 0 ? (-offset + stride - 1) / stride : 0;
    int64_t h = size > offset ? (size - offset + stride - 1) / stride : 0;
    h = h < 0 ? 0 : h > count ? count : h;
    *lo = l < h ? l : h;
    *hi = h;
}

/* (x offset from the image start, weight row) of every in-bounds tap of output pixel (oh, ow) */
static int64_t FN(taps)(const mg_conv_plan* p, int64_t oh, int64_t ow, int64_t* xo, int64_t* wr) {
    int64_t k = 0;
    for (int64_t i = 0; i < p->KH; i++) {
        const int64_t h = oh * p->stride_h - p->pad_top + i * p->dilation_h;
        if (h < 0 || h >= p->H) continue;
        for (int64_t j = 0; j < p->KW; j++) {
            const int64_t w = ow * p->stride_w - p->pad_left + j * p->dilation_w;
            if (w < 0 || w >= p->W) continue;
            for (int64_t c = 0; c < p->C; c++, k++) {
                xo[k] = (h * p->W + w) * p->C + c;
                wr[k] = ((i * p->KW + j) * p->C + c) * BW;
            }
        }
    }
    return k;
}

/* y[f0 .. f0 + BW) of one pixel from its two accumulator vectors, plus the bias; the last block
   may be ragged (the blocked weights are zero past F, so the extra lanes are never stored) */
static inline void FN(store_block)(T* y, int64_t f0, V lo, V hi, const T* b, int64_t F) {
    if (F - f0 >= BW) {
        if (b != NULL) {
            lo = VADD(lo, VLOAD(b + f0));
            hi = VADD(hi, VLOAD(b + f0 + L));
        }
        VSTORE(y + f0, lo);
        VSTORE(y + f0 + L, hi);
        return;
    }
    T o[BW];
    VSTORE(o, lo);
    VSTORE(o + L, hi);
    for (int64_t e = 0; e < F - f0; e++) y[f0 + e] = o[e] + (b != NULL ? b[f0 + e] : (T)0);
}

/* four interior pixels xq, xq + xp, xq + 2xp, xq + 3xp (their windows inside x): each weight
   vector loaded serves four FMAs; 8 accumulators */
static void FN(direct_quad)(const T* xq, int64_t xp, const int64_t* xo, const int64_t* wr,
                            int64_t k, const T* wblk, int64_t Kg, int64_t F, const T* b, T* yq) {
    for (int64_t f0 = 0; f0 < F; f0 += BW) {
        const T* wb = wblk + (f0 / BW) * Kg * BW;
        V p0 = VZERO(), p1 = VZERO(), p2 = VZERO(), p3 = VZERO();
        V q0 = VZERO(), q1 = VZERO(), q2 = VZERO(), q3 = VZERO();
        for (int64_t t = 0; t < k; t++) {
            const T* xt = xq + xo[t];
            const V u = VLOAD(wb + wr[t]), v = VLOAD(wb + wr[t] + L);
            const V s0 = VSET1(xt[0]), s1 = VSET1(xt[xp]), s2 = VSET1(xt[2 * xp]);
            const V s3 = VSET1(xt[3 * xp]);
            p0 = VFMA(s0, u, p0); p1 = VFMA(s1, u, p1); p2 = VFMA(s2, u, p2); p3 = VFMA(s3, u, p3);
            q0 = VFMA(s0, v, q0); q1 = VFMA(s1, v, q1); q2 = VFMA(s2, v, q2); q3 = VFMA(s3, v, q3);
        }
        FN(store_block)(yq, f0, p0, q0, b, F);
        FN(store_block)(yq + F, f0, p1, q1, b, F);
        FN(store_block)(yq + 2 * F, f0, p2, q2, b, F);
        FN(store_block)(yq + 3 * F, f0, p3, q3, b, F);
    }
}

/* one pixel from its tap list (x offsets xs from xn, weight rows ws): two chains per vector */
static void FN(direct_pixel)(const T* xn, const int64_t* xs, const int64_t* ws, int64_t k,
                             const T* wblk, int64_t Kg, int64_t F, const T* b, T* yp) {
    for (int64_t f0 = 0; f0 < F; f0 += BW) {
        const T* wb = wblk + (f0 / BW) * Kg * BW;
        V a0 = VZERO(), a1 = VZERO(), a2 = VZERO(), a3 = VZERO();
        int64_t t = 0;
        for (; t + 1 < k; t += 2) {
            const V s0 = VSET1(xn[xs[t]]), s1 = VSET1(xn[xs[t + 1]]);
            const T *w0 = wb + ws[t], *w1 = wb + ws[t + 1];
            a0 = VFMA(s0, VLOAD(w0), a0); a2 = VFMA(s0, VLOAD(w0 + L), a2);
            a1 = VFMA(s1, VLOAD(w1), a1); a3 = VFMA(s1, VLOAD(w1 + L), a3);
        }
        if (t < k) {
            const V s0 = VSET1(xn[xs[t]]);
            a0 = VFMA(s0, VLOAD(wb + ws[t]), a0); a2 = VFMA(s0, VLOAD(wb + ws[t] + L), a2);
        }
        FN(store_block)(yp, f0, VADD(a0, a1), VADD(a2, a3), b, F);
    }
}

/* Direct conv for few taps (Kg <= 32, one group): images n0..n1 of y; weights blocked as
   wblk[block][tap][BW] (zero past F) so each tap's BW filters are two vector loads. */
static void FN(direct_forward)(const mg_conv_plan* p, const T* x, const T* wblk, const T* b, T* y,
                               int64_t n0, int64_t n1) {
    const int64_t H = p->H, W = p->W, C = p->C, OH = p->OH, OW = p->OW, F = p->F;
    const int64_t KH = p->KH, KW = p->KW, sh = p->stride_h, sw = p->stride_w;
    const int64_t dh = p->dilation_h, dw = p->dilation_w, Kg = KH * KW * C;
    int64_t xo[MG_DIRECT_MAX_TAPS], wr[MG_DIRECT_MAX_TAPS];
    int64_t xo_in[MG_DIRECT_MAX_TAPS], wr_in[MG_DIRECT_MAX_TAPS], k_in = 0;
    /* interior pixels (window inside x) share one tap list relative to the window corner; there
       are none when the dilated kernel is larger than x (the offsets are then never formed) */
    const int fits = (KH - 1) * dh < H && (KW - 1) * dw < W;
    for (int64_t i = 0; fits && i < KH; i++)
        for (int64_t j = 0; j < KW; j++)
            for (int64_t c = 0; c < C; c++, k_in++) {
                xo_in[k_in] = (i * dh * W + j * dw) * C + c;
                wr_in[k_in] = ((i * KW + j) * C + c) * BW;
            }
    for (int64_t n = n0; n < n1; n++)
        for (int64_t oh = 0; oh < OH; oh++) {
            const T* xn = x + n * H * W * C;
            const int64_t h0 = oh * sh - p->pad_top;
            const int rows_in = fits && h0 >= 0 && h0 + (KH - 1) * dh < H;
            for (int64_t ow = 0; ow < OW; ow++) {
                const int64_t w0 = ow * sw - p->pad_left;
                T* yp = y + ((n * OH + oh) * OW + ow) * F;
                if (rows_in && ow + 3 < OW && w0 >= 0 && w0 + 3 * sw + (KW - 1) * dw < W) {
                    FN(direct_quad)(xn + (h0 * W + w0) * C, sw * C, xo_in, wr_in, k_in, wblk, Kg,
                                    F, b, yp);
                    ow += 3;
                } else if (rows_in && w0 >= 0 && w0 + (KW - 1) * dw < W) {
                    FN(direct_pixel)(xn + (h0 * W + w0) * C, xo_in, wr_in, k_in, wblk, Kg, F, b, yp);
                } else {
                    const int64_t k = FN(taps)(p, oh, ow, xo, wr);
                    FN(direct_pixel)(xn, xo, wr, k, wblk, Kg, F, b, yp);
                }
            }
        }
}

/* Direct weight gradient for few taps (one group): dw[tap, f] += sum over output pixels of
   x[pixel's tap] * dy[pixel, f]. Tap-outer, one image at a time: each tap walks the image's dy (in
   cache after the first tap) in blocks of BW filters, two chains each; no im2col, no thin GEMM. */
static void FN(direct_dweights)(const mg_conv_plan* p, const T* x, const T* dy, T* dw, int64_t n0,
                                int64_t n1) {
    const int64_t H = p->H, W = p->W, C = p->C, OH = p->OH, OW = p->OW, F = p->F, KW = p->KW;
    const int64_t nfull = F / BW * BW;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t i = 0; i < p->KH; i++) {
            int64_t hl, hh;
            FN(inside)(i * p->dilation_h - p->pad_top, p->stride_h, H, OH, &hl, &hh);
            for (int64_t j = 0; j < KW && hl < hh; j++) {
                int64_t wl, wh;
                FN(inside)(j * p->dilation_w - p->pad_left, p->stride_w, W, OW, &wl, &wh);
                if (wl >= wh) continue;
                /* steps between in-bounds pixels: formed only when there are two of them, so a
                   huge stride (one pixel) never enters a product */
                const int64_t xs = wh - wl > 1 ? p->stride_w * C : 0;
                const int64_t xrow = hh - hl > 1 ? p->stride_h * W * C : 0, drow = OW * F;
                const int64_t cnt = wh - wl;
                const int64_t h = hl * p->stride_h - p->pad_top + i * p->dilation_h;
                const int64_t w = wl * p->stride_w - p->pad_left + j * p->dilation_w;
                for (int64_t c = 0; c < C; c++) {
                    T* dwt = dw + ((i * KW + j) * C + c) * F;
                    const T* x0 = x + ((n * H + h) * W + w) * C + c;
                    const T* d0 = dy + ((n * OH + hl) * OW + wl) * F;
                    for (int64_t f0 = 0; f0 < nfull; f0 += BW) {
                        V a0 = VZERO(), a1 = VZERO(), a2 = VZERO(), a3 = VZERO();
                        for (int64_t r = 0; r < hh - hl; r++) {
                            const T* xr = x0 + r * xrow;
                            const T* dr = d0 + r * drow + f0;
                            int64_t k = 0;
                            for (; k + 1 < cnt; k += 2) {
                                const V s0 = VSET1(xr[k * xs]), s1 = VSET1(xr[(k + 1) * xs]);
                                a0 = VFMA(s0, VLOAD(dr + k * F), a0);
                                a2 = VFMA(s0, VLOAD(dr + k * F + L), a2);
                                a1 = VFMA(s1, VLOAD(dr + (k + 1) * F), a1);
                                a3 = VFMA(s1, VLOAD(dr + (k + 1) * F + L), a3);
                            }
                            if (k < cnt) {
                                const V s0 = VSET1(xr[k * xs]);
                                a0 = VFMA(s0, VLOAD(dr + k * F), a0);
                                a2 = VFMA(s0, VLOAD(dr + k * F + L), a2);
                            }
                        }
                        VSTORE(dwt + f0, VADD(VLOAD(dwt + f0), VADD(a0, a1)));
                        VSTORE(dwt + f0 + L, VADD(VLOAD(dwt + f0 + L), VADD(a2, a3)));
                    }
                    for (int64_t f = nfull; f < F; f++) {  /* the ragged filters, one at a time */
                        T s = 0;
                        for (int64_t r = 0; r < hh - hl; r++)
                            for (int64_t k = 0; k < cnt; k++)
                                s += x0[r * xrow + k * xs] * d0[r * drow + k * F + f];
                        dwt[f] += s;
                    }
                }
            }
        }
}

/* out[f] += sum over rows of a[r, f] (the bias gradient): up to NV_MAX vectors of columns summed in
   registers over all rows (a running sum in memory chains every row on a store and a load) */
static void FN(sum_rows)(const T* a, int64_t rows, int64_t F, T* out) {
    int64_t f = 0;
    for (; f + L <= F; ) {
        const int64_t nv = (F - f) / L < NV_MAX ? (F - f) / L : NV_MAX;
        V s0 = VZERO(), s1 = VZERO(), s2 = VZERO(), s3 = VZERO();
        for (int64_t r = 0; r < rows; r++) {
            const T* ar = a + r * F + f;
            s0 = VADD(s0, VLOAD(ar));
            if (nv > 1) s1 = VADD(s1, VLOAD(ar + L));
            if (nv > 2) s2 = VADD(s2, VLOAD(ar + 2 * L));
            if (nv > 3) s3 = VADD(s3, VLOAD(ar + 3 * L));
        }
        VSTORE(out + f, VADD(VLOAD(out + f), s0));
        if (nv > 1) VSTORE(out + f + L, VADD(VLOAD(out + f + L), s1));
        if (nv > 2) VSTORE(out + f + 2 * L, VADD(VLOAD(out + f + 2 * L), s2));
        if (nv > 3) VSTORE(out + f + 3 * L, VADD(VLOAD(out + f + 3 * L), s3));
        f += nv * L;
    }
    for (; f < F; f++) {  /* the ragged columns */
        T s = 0;
        for (int64_t r = 0; r < rows; r++) s += a[r * F + f];
        out[f] += s;
    }
}

/* ---- implicit GEMM (one group; C and F multiples of L; at most MG_IMPLICIT_MAX_TAPS taps) ----
   The three GEMMs of a conv read x, dy and w in place: no im2col matrix, no BLAS packing. x comes
   as xp, xp_h x xp_w per image (a zero-bordered copy when the plan is padded): every tap of every
   output pixel is in bounds. */
#define NV 1
#include "conv_tile.h"
#undef NV
#define NV 2
#include "conv_tile.h"
#undef NV
#if NV_MAX >= 3
#define NV 3
#include "conv_tile.h"
#undef NV
#define NV 4
#include "conv_tile.h"
#undef NV
#endif

/* offset in xp of output pixel q's window corner (q counts (n, oh, ow)) */
static inline int64_t FN(ig_base)(const mg_conv_plan* p, int64_t q) {
    const int64_t n = q / (p->OH * p->OW), r = q % (p->OH * p->OW);
    return ((n * p->xp_h + (r / p->OW) * p->stride_h) * p->xp_w + (r % p->OW) * p->stride_w) * p->C;
}

static void FN(ig_taps)(const mg_conv_plan* p, int64_t* toff) {
    for (int64_t i = 0; i < p->KH; i++)
        for (int64_t j = 0; j < p->KW; j++)
            toff[i * p->KW + j] = (i * p->dilation_h * p->xp_w + j * p->dilation_w) * p->C;
}

/* tiles of NV_MAX vectors at most, widths balanced (18 vectors go 4+4+4+3+3, not 4+4+4+4+2: a
   thin tile is bound by its 6 broadcasts, not its FMAs); width of tile blk of nblk over nv */
static inline int64_t FN(width)(int64_t nv, int64_t nblk, int64_t blk) {
    return nv / nblk + (blk < nv % nblk);
}

static void FN(ig_forward)(const mg_conv_plan* p, const T* xp, const T* w, const T* b, T* y,
                           int64_t nimg) {
    int64_t toff[MG_IMPLICIT_MAX_TAPS];
    const int64_t F = p->F, nv = F / L, nblk = (nv + NV_MAX - 1) / NV_MAX, P = nimg * p->OH * p->OW;
    FN(ig_taps)(p, toff);
    for (int64_t p0 = 0; p0 < P; p0 += 6) {
        const int64_t rows = P - p0 < 6 ? P - p0 : 6;
        const T* xr[6];  /* rows past the end repeat the last pixel, and are not stored */
        for (int64_t r = 0; r < 6; r++) xr[r] = xp + FN(ig_base)(p, p0 + (r < rows ? r : rows - 1));
        for (int64_t blk = 0, v0 = 0; blk < nblk; blk++) {
            const int64_t nw = FN(width)(nv, nblk, blk), o = v0 * L;
            const T* bb = b != NULL ? b + o : NULL;
            T* yy = y + p0 * F + o;
            const int64_t taps = p->KH * p->KW;
            if (nw == 1) FN(ig_fwd_tile1)(xr, toff, taps, p->C, F, w + o, bb, yy, F, rows);
            else if (nw == 2) FN(ig_fwd_tile2)(xr, toff, taps, p->C, F, w + o, bb, yy, F, rows);
#if NV_MAX >= 3
            else if (nw == 3) FN(ig_fwd_tile3)(xr, toff, taps, p->C, F, w + o, bb, yy, F, rows);
            else FN(ig_fwd_tile4)(xr, toff, taps, p->C, F, w + o, bb, yy, F, rows);
#endif
            v0 += nw;
        }
    }
}

/* dw[Kg, F] += over the chunk's pixels: rows k = (tap, c) in tiles of 6 */
static void FN(ig_dweights)(const mg_conv_plan* p, const T* xp, const T* dy, T* dw, int64_t nimg) {
    int64_t toff[MG_IMPLICIT_MAX_TAPS];
    const int64_t F = p->F, C = p->C, Kg = p->Kg, nv = F / L, nblk = (nv + NV_MAX - 1) / NV_MAX;
    FN(ig_taps)(p, toff);
    for (int64_t k0 = 0; k0 < Kg; k0 += 6) {
        const int64_t rows = Kg - k0 < 6 ? Kg - k0 : 6;
        int64_t ko[6];
        for (int64_t r = 0; r < 6; r++) {
            const int64_t k = k0 + (r < rows ? r : rows - 1);
            ko[r] = toff[k / C] + k % C;
        }
        for (int64_t blk = 0, v0 = 0; blk < nblk; blk++) {
            const int64_t nw = FN(width)(nv, nblk, blk), o = v0 * L;
            T* dd = dw + k0 * F + o;
            if (nw == 1) FN(ig_dw_tile1)(p, xp, ko, dy + o, nimg, dd, rows);
            else if (nw == 2) FN(ig_dw_tile2)(p, xp, ko, dy + o, nimg, dd, rows);
#if NV_MAX >= 3
            else if (nw == 3) FN(ig_dw_tile3)(p, xp, ko, dy + o, nimg, dd, rows);
            else FN(ig_dw_tile4)(p, xp, ko, dy + o, nimg, dd, rows);
#endif
            v0 += nw;
        }
    }
}

/* dxp (padded, zeroed by the caller) += dy @ wT scattered to the windows: pixels in tiles of 6 */
static void FN(ig_dinput)(const mg_conv_plan* p, const T* dy, const T* wT, T* dxp, int64_t nimg) {
    int64_t toff[MG_IMPLICIT_MAX_TAPS];
    const int64_t nv = p->Kg / L, nblk = (nv + NV_MAX - 1) / NV_MAX, P = nimg * p->OH * p->OW;
    FN(ig_taps)(p, toff);
    for (int64_t p0 = 0; p0 < P; p0 += 6) {
        const int64_t rows = P - p0 < 6 ? P - p0 : 6;
        const T* dr[6];
        int64_t base[6];
        for (int64_t r = 0; r < 6; r++) {
            const int64_t q = p0 + (r < rows ? r : rows - 1);
            dr[r] = dy + q * p->F;
            base[r] = FN(ig_base)(p, q);
        }
        for (int64_t blk = 0, v0 = 0; blk < nblk; blk++) {
            const int64_t nw = FN(width)(nv, nblk, blk), k0 = v0 * L;
            if (nw == 1) FN(ig_dx_tile1)(p, dr, base, toff, wT, dxp, k0, rows);
            else if (nw == 2) FN(ig_dx_tile2)(p, dr, base, toff, wT, dxp, k0, rows);
#if NV_MAX >= 3
            else if (nw == 3) FN(ig_dx_tile3)(p, dr, base, toff, wT, dxp, k0, rows);
            else FN(ig_dx_tile4)(p, dr, base, toff, wT, dxp, k0, rows);
#endif
            v0 += nw;
        }
    }
}
#include "conv_winograd.h"  /* the Winograd path, built on the implicit GEMM's tiles */
#undef BW

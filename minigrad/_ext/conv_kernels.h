/* C kernels of minigrad._ext._conv (included by the generated _conv.c, after Python.h). */
#ifndef MINIGRAD_CONV_KERNELS_H
#define MINIGRAD_CONV_KERNELS_H
#include <string.h>
/* Direct conv for few taps (KH*KW*C <= 32, one group): per output pixel, list the in-bounds
   (x value, weight row) pairs, then accumulate 16 filters at a time in vector registers, two
   blocks and two chains at once (FMA latency, not throughput, bounds a single chain). Weights
   come as wblk[block][tap][16], zero-padded past F. A 16-filter block is NQ vectors of the
   target's native width: wider generic vectors compile to code ~20x slower. */
#if defined(__AVX512F__)
#define MG_VBYTES 64
#elif defined(__AVX__)
#define MG_VBYTES 32
#else
#define MG_VBYTES 16
#endif
#if defined(__GNUC__) || defined(__clang__)
typedef float mg_vf __attribute__((vector_size(MG_VBYTES)));
typedef double mg_vd __attribute__((vector_size(MG_VBYTES)));
#define MG_FMA(acc, s, p, V, NQ, L) do { for (int q_ = 0; q_ < (NQ); q_++) { V w_;              \
    memcpy(&w_, (p) + q_ * (L), sizeof w_); (acc)[q_] += (s) * w_; } } while (0)
#define MG_ADD(acc, o, NQ, L) do { for (int q_ = 0; q_ < (NQ); q_++) (acc)[q_] += (o)[q_]; } while (0)
#define MG_FMAV(acc, s, wv, NQ, L) do { for (int q_ = 0; q_ < (NQ); q_++) (acc)[q_] += (s) * (wv)[q_]; } while (0)
#else
typedef struct { float v[MG_VBYTES / sizeof(float)]; } mg_vf;
typedef struct { double v[MG_VBYTES / sizeof(double)]; } mg_vd;
#define MG_FMA(acc, s, p, V, NQ, L) do { for (int q_ = 0; q_ < (NQ); q_++)                     \
    for (int l_ = 0; l_ < (L); l_++) (acc)[q_].v[l_] += (s) * (p)[q_ * (L) + l_]; } while (0)
#define MG_ADD(acc, o, NQ, L) do { for (int q_ = 0; q_ < (NQ); q_++)                            \
    for (int l_ = 0; l_ < (L); l_++) (acc)[q_].v[l_] += (o)[q_].v[l_]; } while (0)
#define MG_FMAV(acc, s, wv, NQ, L) do { for (int q_ = 0; q_ < (NQ); q_++)                      \
    for (int l_ = 0; l_ < (L); l_++) (acc)[q_].v[l_] += (s) * (wv)[q_].v[l_]; } while (0)
#endif
/* Add the bias to one pixel's two 16-filter accumulators a0, a2 of block blk and store the
   filters that exist (the last block may be ragged or alone). */
#define MG_STORE(T, V, yp, blk, a0, a2, b, F, NQ, L) do {                                      \
    int fb_ = (F) - (blk) * 16 < 32 ? (F) - (blk) * 16 : 32;                                    \
    if ((b) != NULL && fb_ >= 16) MG_FMA(a0, (T)1, (b) + (blk) * 16, V, NQ, L);                 \
    if ((b) != NULL && fb_ == 32) MG_FMA(a2, (T)1, (b) + (blk) * 16 + 16, V, NQ, L);            \
    if (fb_ >= 16) memcpy((yp) + (blk) * 16, a0, sizeof a0);                                    \
    if (fb_ == 32) memcpy((yp) + (blk) * 16 + 16, a2, sizeof a2);                               \
    if (fb_ % 16) { /* the ragged last block */                                                 \
        T o_[16]; int base_ = fb_ > 16 ? 16 : 0;                                                \
        memcpy(o_, base_ ? (const void*)a2 : (const void*)a0, sizeof o_);                       \
        for (int l_ = 0; l_ < fb_ - base_; l_++)                                                \
            (yp)[(blk) * 16 + base_ + l_] = o_[l_] + ((b) ? (b)[(blk) * 16 + base_ + l_] : (T)0);\
    }                                                                                           \
} while (0)
#define MG_DIRECT(T, V)                                                                        \
static int mg_taps_##T(int oh, int ow, const int* g, Py_ssize_t* xo, int* wr) {                 \
    /* (x offset from image start, weight row) of every in-bounds tap of output pixel (oh, ow) */\
    const int H = g[0], W = g[1], C = g[2], KH = g[6], KW = g[7];                               \
    int k = 0;                                                                                  \
    for (int i = 0; i < KH; i++) {                                                              \
        int h = oh * g[8] - g[12] + i * g[10];                                                  \
        if (h < 0 || h >= H) continue;                                                          \
        for (int j = 0; j < KW; j++) {                                                          \
            int w = ow * g[9] - g[13] + j * g[11];                                              \
            if (w < 0 || w >= W) continue;                                                      \
            for (int c = 0; c < C; c++, k++) {                                                  \
                xo[k] = ((Py_ssize_t)h * W + w) * C + c;                                        \
                wr[k] = ((i * KW + j) * C + c) * 16;                                            \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
    return k;                                                                                   \
}                                                                                               \
__attribute__((noinline)) static void mg_direct_##T(const T* x, const T* wblk, const T* b, T* y, const int* g,            \
                          Py_ssize_t n0, Py_ssize_t n1) {                                      \
    enum { L = MG_VBYTES / sizeof(T), NQ = 16 / (MG_VBYTES / sizeof(T)) };                      \
    const int H = g[0], W = g[1], C = g[2], OH = g[3], OW = g[4], F = g[5], KH = g[6];          \
    const int KW = g[7], sh = g[8], sw = g[9], dh = g[10], dw = g[11], pt = g[12], pl = g[13];  \
    const int Kg = KH * KW * C, nb = (F + 15) / 16;                                             \
    Py_ssize_t xo[32], xo_in[32]; int wr[32], wr_in[32];                                        \
    /* interior pixels (window fully inside) share one tap list, shifted by the window start */ \
    int k_in = mg_taps_##T((pt + sh - 1) / sh, (pl + sw - 1) / sw, g, xo_in, wr_in);            \
    Py_ssize_t in0 = (((pt + sh - 1) / sh) * (Py_ssize_t)sh - pt) * W * C                       \
                     + (((pl + sw - 1) / sw) * (Py_ssize_t)sw - pl) * C;                        \
    for (int k = 0; k < k_in; k++) xo_in[k] -= in0;                                             \
    for (Py_ssize_t n = n0; n < n1; n++)                                                        \
    for (int oh = 0; oh < OH; oh++)                                                             \
    for (int ow = 0; ow < OW; ow++) {                                                           \
        const T* xn = x + n * H * (Py_ssize_t)W * C;                                            \
        int h0 = oh * sh - pt, w0 = ow * sw - pl, k;                                            \
        if (ow + 3 < OW && h0 >= 0 && h0 + (KH - 1) * dh < H && w0 >= 0                         \
                && w0 + 3 * sw + (KW - 1) * dw < W) {                                           \
            /* four interior pixels at once: each weight vector loaded serves four FMAs */      \
            const T* xq = xn + ((Py_ssize_t)h0 * W + w0) * C;                                   \
            const Py_ssize_t xp = (Py_ssize_t)sw * C;                                           \
            T* yq = y + ((n * OH + oh) * (Py_ssize_t)OW + ow) * F;                              \
            for (int blk = 0; blk < nb; blk += 2) {                                             \
                const T* w0p = wblk + (Py_ssize_t)blk * Kg * 16;                                \
                const T* w1p = blk + 1 < nb ? w0p + (Py_ssize_t)Kg * 16 : w0p;                  \
                V p0[NQ], p1[NQ], p2[NQ], p3[NQ], q0[NQ], q1[NQ], q2[NQ], q3[NQ], u[NQ], v[NQ]; \
                memset(p0, 0, sizeof p0); memset(p1, 0, sizeof p1);                             \
                memset(p2, 0, sizeof p2); memset(p3, 0, sizeof p3);                             \
                memset(q0, 0, sizeof q0); memset(q1, 0, sizeof q1);                             \
                memset(q2, 0, sizeof q2); memset(q3, 0, sizeof q3);                             \
                for (int t = 0; t < k_in; t++) {                                                \
                    const T* xt = xq + xo_in[t];                                                \
                    T s0 = xt[0], s1 = xt[xp], s2 = xt[2 * xp], s3 = xt[3 * xp];                \
                    memcpy(u, w0p + wr_in[t], sizeof u); memcpy(v, w1p + wr_in[t], sizeof v);   \
                    MG_FMAV(p0, s0, u, NQ, L); MG_FMAV(p1, s1, u, NQ, L);                       \
                    MG_FMAV(p2, s2, u, NQ, L); MG_FMAV(p3, s3, u, NQ, L);                       \
                    MG_FMAV(q0, s0, v, NQ, L); MG_FMAV(q1, s1, v, NQ, L);                       \
                    MG_FMAV(q2, s2, v, NQ, L); MG_FMAV(q3, s3, v, NQ, L);                       \
                }                                                                               \
                MG_STORE(T, V, yq, blk, p0, q0, b, F, NQ, L);                                   \
                MG_STORE(T, V, yq + F, blk, p1, q1, b, F, NQ, L);                               \
                MG_STORE(T, V, yq + 2 * F, blk, p2, q2, b, F, NQ, L);                           \
                MG_STORE(T, V, yq + 3 * F, blk, p3, q3, b, F, NQ, L);                           \
            }                                                                                   \
            ow += 3;                                                                            \
            continue;                                                                           \
        }                                                                                       \
        const Py_ssize_t* xs; const int* ws;                                                    \
        if (h0 >= 0 && h0 + (KH - 1) * dh < H && w0 >= 0 && w0 + (KW - 1) * dw < W) {          \
            xn += ((Py_ssize_t)h0 * W + w0) * C; xs = xo_in; ws = wr_in; k = k_in;              \
        } else {                                                                                \
            k = mg_taps_##T(oh, ow, g, xo, wr); xs = xo; ws = wr;                               \
        }                                                                                       \
        T* yp = y + ((n * OH + oh) * (Py_ssize_t)OW + ow) * F;                                  \
        for (int blk = 0; blk < nb; blk += 2) {                                                 \
            const T* w0p = wblk + (Py_ssize_t)blk * Kg * 16;                                    \
            const T* w1p = blk + 1 < nb ? w0p + (Py_ssize_t)Kg * 16 : w0p;                      \
            V a0[NQ], a1[NQ], a2[NQ], a3[NQ];                                                   \
            memset(a0, 0, sizeof a0); memset(a1, 0, sizeof a1);                                 \
            memset(a2, 0, sizeof a2); memset(a3, 0, sizeof a3);                                 \
            int t = 0;                                                                          \
            for (; t + 1 < k; t += 2) {                                                         \
                T s0 = xn[xs[t]], s1 = xn[xs[t + 1]];                                           \
                MG_FMA(a0, s0, w0p + ws[t], V, NQ, L); MG_FMA(a2, s0, w1p + ws[t], V, NQ, L);   \
                MG_FMA(a1, s1, w0p + ws[t + 1], V, NQ, L);                                      \
                MG_FMA(a3, s1, w1p + ws[t + 1], V, NQ, L);                                      \
            }                                                                                   \
            if (t < k) { T s0 = xn[xs[t]]; MG_FMA(a0, s0, w0p + ws[t], V, NQ, L);              \
                         MG_FMA(a2, s0, w1p + ws[t], V, NQ, L); }                               \
            MG_ADD(a0, a1, NQ, L); MG_ADD(a2, a3, NQ, L);                                       \
            MG_STORE(T, V, yp, blk, a0, a2, b, F, NQ, L);                                       \
        }                                                                                       \
    }                                                                                           \
}
MG_DIRECT(float, mg_vf)
MG_DIRECT(double, mg_vd)
static void mg_inside(int offset, int stride, int size, int count, int* lo, int* hi) {
    /* [lo, hi) of k in [0, count) with 0 <= offset + k*stride < size (lo == hi when none) */
    int l = offset < 0 ? (-offset + stride - 1) / stride : 0;
    int h = size > offset ? (size - offset + stride - 1) / stride : 0;
    h = h < 0 ? 0 : h > count ? count : h;
    *lo = l < h ? l : h; *hi = h;
}
/* Direct weight gradient for few taps (one group): dw[tap, f] += sum over output pixels of
   x[pixel's tap] * dy[pixel, f]. Tap-outer, one image at a time: each tap walks the image's dy
   (in cache after the first tap) with 32 filters in four vector chains, so no im2col is built
   and no thin GEMM (9 x 32 with k = pixels: ~40 GFLOP/s in OpenBLAS) runs. */
#define MG_DW(T, V)                                                                            \
__attribute__((noinline)) static void mg_direct_dw_##T(const T* x, const T* dy, T* dw, const int* g, Py_ssize_t n0,      \
                             Py_ssize_t n1) {                                                 \
    enum { L = MG_VBYTES / sizeof(T), NQ = 16 / (MG_VBYTES / sizeof(T)) };                      \
    const int H = g[0], W = g[1], C = g[2], OH = g[3], OW = g[4], F = g[5], KH = g[6];          \
    const int KW = g[7], sh = g[8], sw = g[9], dh = g[10], dl = g[11], pt = g[12], pl = g[13];  \
    const int nfull = F / 16;                                                                   \
    const Py_ssize_t xs = (Py_ssize_t)sw * C;  /* x step between output columns */              \
    for (Py_ssize_t n = n0; n < n1; n++)                                                        \
    for (int i = 0; i < KH; i++) {                                                              \
        int hl, hh; mg_inside(i * dh - pt, sh, H, OH, &hl, &hh);                                \
        for (int j = 0; j < KW; j++) {                                                          \
            int wl, wh; mg_inside(j * dl - pl, sw, W, OW, &wl, &wh);                            \
            if (hl >= hh || wl >= wh) continue;                                                 \
            for (int c = 0; c < C; c++) {                                                       \
                T* dwt = dw + (Py_ssize_t)((i * KW + j) * C + c) * F;                           \
                /* both pointers start at output column wl of row oh, inside the arrays */      \
                const T* x0 = x + (((n * H + (hl * sh - pt + i * dh)) * (Py_ssize_t)W           \
                                    + wl * sw + j * dl - pl) * C + c);                          \
                const T* d0 = dy + ((n * OH + hl) * (Py_ssize_t)OW + wl) * F;                   \
                const Py_ssize_t xrow = (Py_ssize_t)sh * W * C, drow = (Py_ssize_t)OW * F;      \
                const int cnt = wh - wl;                                                        \
                for (int blk = 0; blk < nfull; blk += 2) {                                      \
                    const int o1 = blk + 1 < nfull ? 16 : 0; /* second block, or the first again */\
                    V a0[NQ], a1[NQ], a2[NQ], a3[NQ];                                           \
                    memset(a0, 0, sizeof a0); memset(a1, 0, sizeof a1);                         \
                    memset(a2, 0, sizeof a2); memset(a3, 0, sizeof a3);                         \
                    for (int r = 0; r < hh - hl; r++) {                                         \
                        const T* xr = x0 + r * xrow;                                            \
                        const T* dr = d0 + r * drow + blk * 16;                                 \
                        int k = 0;                                                              \
                        for (; k + 1 < cnt; k += 2) {                                           \
                            T s0 = xr[k * xs], s1 = xr[(k + 1) * xs];                           \
                            MG_FMA(a0, s0, dr + k * F, V, NQ, L);                               \
                            MG_FMA(a2, s0, dr + k * F + o1, V, NQ, L);                          \
                            MG_FMA(a1, s1, dr + (k + 1) * F, V, NQ, L);                         \
                            MG_FMA(a3, s1, dr + (k + 1) * F + o1, V, NQ, L);                    \
                        }                                                                       \
                        if (k < cnt) { T s0 = xr[k * xs]; MG_FMA(a0, s0, dr + k * F, V, NQ, L); \
                                       MG_FMA(a2, s0, dr + k * F + o1, V, NQ, L); }             \
                    }                                                                           \
                    MG_ADD(a0, a1, NQ, L); MG_ADD(a2, a3, NQ, L);                               \
                    MG_FMA(a0, (T)1, dwt + blk * 16, V, NQ, L);                                 \
                    memcpy(dwt + blk * 16, a0, sizeof a0);                                      \
                    if (o1) { MG_FMA(a2, (T)1, dwt + blk * 16 + 16, V, NQ, L);                  \
                              memcpy(dwt + blk * 16 + 16, a2, sizeof a2); }                     \
                }                                                                               \
                for (int f = nfull * 16; f < F; f++) { /* the ragged filters, one at a time */  \
                    T s = 0;                                                                    \
                    for (int r = 0; r < hh - hl; r++)                                           \
                        for (int k = 0; k < cnt; k++)                                           \
                            s += x0[r * xrow + k * xs] * d0[r * drow + k * F + f];              \
                    dwt[f] += s;                                                                \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }                                                                                           \
}
MG_DW(float, mg_vf)
MG_DW(double, mg_vd)
/* Bias add and bias gradient over a (rows, F) block. restrict lets the compiler vectorise: the
   same loops written in Cython ran scalar (their pointers might alias), ~0.3 ms for 1->32's db. */
#define MG_ROWS(T)                                                                             \
static void mg_add_rows_##T(T* restrict y, Py_ssize_t rows, int F, const T* restrict b) {      \
    for (Py_ssize_t r = 0; r < rows; r++) for (int f = 0; f < F; f++) y[r * F + f] += b[f];     \
}                                                                                               \
static void mg_sum_rows_##T(const T* restrict a, Py_ssize_t rows, int F, T* restrict out) {    \
    for (Py_ssize_t r = 0; r < rows; r++) for (int f = 0; f < F; f++) out[f] += a[r * F + f];   \
}                                                                                               \
static void mg_relu_##T(T* restrict y, Py_ssize_t n) {  /* the fused activation, in cache */     \
    for (Py_ssize_t e = 0; e < n; e++) y[e] = y[e] <= 0 ? 0 : y[e];  /* NaN propagates */            \
}                                                                                                   \
static inline void mg_add_##T(T* restrict dst, const T* restrict src, Py_ssize_t n) {           \
    for (Py_ssize_t e = 0; e < n; e++) dst[e] += src[e];  /* col2im's scatter-add */           \
}
MG_ROWS(float)
MG_ROWS(double)

/* Implicit GEMM (one group, C and F multiples of the vector width L, AVX-512): the three GEMMs of a
   conv read their operands straight from x, dy and w, so no im2col matrix is written and read back
   and no BLAS packing runs. Each tile keeps MG_IG_R rows x NV vectors of accumulators in registers
   (6 x 4 = 24 of the 32 zmm) and broadcasts its scalar operand from memory: on the 32->64 layer's
   forward this ran at 115 GFLOP/s on one core against 91 for OpenBLAS's sgemm on the same chunk.
   x arrives padded (every tap of every output pixel in bounds): rows Hp, columns Wp, C channels. */
#if defined(__AVX512F__) && (defined(__GNUC__) || defined(__clang__))
#define MG_HAVE_IG 1
#else
#define MG_HAVE_IG 0
#endif
typedef struct { int Hp, Wp, C, OH, OW, F, KH, KW, sh, sw, dh, dw; } mg_ig;
#if MG_HAVE_IG
#define MG_IG_R 6
static inline Py_ssize_t mg_ig_base(const mg_ig* g, Py_ssize_t p) {
    /* offset in the padded x of output pixel p's window corner (p counts (n, oh, ow)) */
    Py_ssize_t n = p / ((Py_ssize_t)g->OH * g->OW), q = p % ((Py_ssize_t)g->OH * g->OW);
    return ((n * g->Hp + (q / g->OW) * g->sh) * (Py_ssize_t)g->Wp + (q % g->OW) * g->sw) * g->C;
}
static inline void mg_ig_taps(const mg_ig* g, int* toff) {
    for (int i = 0; i < g->KH; i++)
        for (int j = 0; j < g->KW; j++)
            toff[i * g->KW + j] = (i * g->dh * g->Wp + j * g->dw) * g->C;
}
/* The step all three kernels repeat: NV vectors from src, times the scalar of each of the
   MG_IG_R rows (an expression in r), into the accumulators: acc[r][q] += scalar(r) * src[q]. */
#define MG_IG_RANK1(T, NV, acc, src, scalar) do {                                                  \
    V v_[NV];                                                                                       \
    for (int q = 0; q < NV; q++) memcpy(&v_[q], (src) + q * (64 / sizeof(T)), sizeof(V));           \
    for (int r = 0; r < MG_IG_R; r++) {                                                             \
        T s_ = (scalar);                                                                            \
        for (int q = 0; q < NV; q++) (acc)[r][q] += s_ * v_[q];                                     \
    }                                                                                               \
} while (0)
/* y rows p0..p0+rows-1, filter vectors v0..v0+NV-1: y = b + sum over (tap, c) of x * w */
#define MG_IG_FWD(T, NV)                                                                           \
static inline __attribute__((always_inline)) void mg_ig_fwd_##T##NV(                               \
        const T* const* xr, const int* toff, const mg_ig* g, const T* w, const T* b, T* y,          \
        int rows, int v0) {                                                                         \
    typedef T V __attribute__((vector_size(64)));                                                   \
    enum { L = 64 / sizeof(T) };                                                                    \
    const int C = g->C, F = g->F, taps = g->KH * g->KW;                                             \
    V acc[MG_IG_R][NV];                                                                             \
    memset(acc, 0, sizeof acc);                                                                     \
    for (int t = 0; t < taps; t++) {                                                                \
        const T* wt = w + (Py_ssize_t)t * C * F + v0 * L;                                           \
        const int o = toff[t];                                                                      \
        for (int c = 0; c < C; c++) {                                                               \
            MG_IG_RANK1(T, NV, acc, wt + (Py_ssize_t)c * F, xr[r][o + c]);                           \
        }                                                                                           \
    }                                                                                               \
    for (int r = 0; r < rows; r++)                                                                  \
        for (int q = 0; q < NV; q++) {                                                              \
            if (b != NULL) { V bv; memcpy(&bv, b + (v0 + q) * L, sizeof bv); acc[r][q] += bv; }     \
            memcpy(y + (Py_ssize_t)r * F + (v0 + q) * L, &acc[r][q], sizeof(V));                    \
        }                                                                                           \
}
/* dw rows k0..k0+rows-1 (k = (tap, c)), filter vectors v0..: dw += sum over pixels of x * dy */
#define MG_IG_DW(T, NV)                                                                            \
static inline __attribute__((always_inline)) void mg_ig_dw_##T##NV(                                \
        const T* xp, const int* ko, const mg_ig* g, const T* dy, Py_ssize_t nimg, T* dw, int rows,  \
        int v0) {                                                                                   \
    typedef T V __attribute__((vector_size(64)));                                                   \
    enum { L = 64 / sizeof(T) };                                                                    \
    const int F = g->F;                                                                             \
    const Py_ssize_t xs = (Py_ssize_t)g->sw * g->C;                                                 \
    V acc[MG_IG_R][NV];                                                                             \
    memset(acc, 0, sizeof acc);                                                                     \
    for (Py_ssize_t n = 0; n < nimg; n++)                                                           \
        for (int oh = 0; oh < g->OH; oh++) {                                                        \
            const T* xb = xp + (n * g->Hp + (Py_ssize_t)oh * g->sh) * g->Wp * g->C;                 \
            const T* d = dy + ((n * g->OH + oh) * (Py_ssize_t)g->OW) * F + v0 * L;                  \
            for (int ow = 0; ow < g->OW; ow++, xb += xs, d += F) {                                  \
                MG_IG_RANK1(T, NV, acc, d, xb[ko[r]]);                                              \
            }                                                                                       \
        }                                                                                           \
    for (int r = 0; r < rows; r++)                                                                  \
        for (int q = 0; q < NV; q++) {                                                              \
            T* dst = dw + (Py_ssize_t)r * F + (v0 + q) * L;                                         \
            V o; memcpy(&o, dst, sizeof o); o += acc[r][q]; memcpy(dst, &o, sizeof o);              \
        }                                                                                           \
}
/* dx (padded) += dy rows p0.. times wT (F x Kg), columns in vectors v0..v0+NV-1, each vector added
   where its (tap, c) lands: a vector never straddles two taps since C is a multiple of L */
#define MG_IG_DX(T, NV)                                                                            \
static inline __attribute__((always_inline)) void mg_ig_dx_##T##NV(                                \
        const T* const* dr, const Py_ssize_t* base, const int* toff, const mg_ig* g, const T* wT,   \
        T* dxp, int rows, int v0) {                                                                 \
    typedef T V __attribute__((vector_size(64)));                                                   \
    enum { L = 64 / sizeof(T) };                                                                    \
    const int F = g->F, C = g->C;                                                                   \
    const Py_ssize_t Kg = (Py_ssize_t)g->KH * g->KW * C;                                            \
    V acc[MG_IG_R][NV];                                                                             \
    memset(acc, 0, sizeof acc);                                                                     \
    for (int f = 0; f < F; f++) {                                                                   \
        MG_IG_RANK1(T, NV, acc, wT + f * Kg + v0 * L, dr[r][f]);                                    \
    }                                                                                               \
    for (int r = 0; r < rows; r++)                                                                  \
        for (int q = 0; q < NV; q++) {                                                              \
            int k = (v0 + q) * L;                                                                   \
            T* dst = dxp + base[r] + toff[k / C] + k % C;                                           \
            V o; memcpy(&o, dst, sizeof o); o += acc[r][q]; memcpy(dst, &o, sizeof o);              \
        }                                                                                           \
}
/* the three drivers: tiles of MG_IG_R rows x blocks of at most 4 vectors, sizes balanced (18
   vectors go 4+4+4+3+3, not 4+4+4+4+2: a 2-vector tile is bound by its 6 broadcasts, not its FMAs) */
#define MG_IG_SWITCH(KIND, T, nv, v0, ARGS) do {                                                   \
    const int nblk_ = ((nv) + 3) / 4;                                                               \
    v0 = 0;                                                                                         \
    for (int blk_ = 0; blk_ < nblk_; blk_++) {                                                      \
        switch ((nv) / nblk_ + (blk_ < (nv) % nblk_)) {                                             \
            case 4: mg_ig_##KIND##_##T##4 ARGS; v0 += 4; break;                                     \
            case 3: mg_ig_##KIND##_##T##3 ARGS; v0 += 3; break;                                     \
            case 2: mg_ig_##KIND##_##T##2 ARGS; v0 += 2; break;                                     \
            default: mg_ig_##KIND##_##T##1 ARGS; v0 += 1; break;                                    \
        }                                                                                           \
    }                                                                                               \
} while (0)
#define MG_IG_ALL(T)                                                                               \
MG_IG_FWD(T, 1) MG_IG_FWD(T, 2) MG_IG_FWD(T, 3) MG_IG_FWD(T, 4)                                    \
MG_IG_DW(T, 1) MG_IG_DW(T, 2) MG_IG_DW(T, 3) MG_IG_DW(T, 4)                                        \
MG_IG_DX(T, 1) MG_IG_DX(T, 2) MG_IG_DX(T, 3) MG_IG_DX(T, 4)                                        \
static void mg_ig_forward_##T(const T* xp, const T* w, const T* b, T* y, const mg_ig* g,           \
                              Py_ssize_t nimg) {                                                    \
    int toff[g->KH * g->KW], v0;                                                                    \
    const int nv = g->F / (64 / (int)sizeof(T));                                                    \
    const Py_ssize_t P = nimg * g->OH * g->OW;                                                      \
    mg_ig_taps(g, toff);                                                                            \
    for (Py_ssize_t p0 = 0; p0 < P; p0 += MG_IG_R) {                                                \
        const int rows = P - p0 < MG_IG_R ? (int)(P - p0) : MG_IG_R;                                \
        const T* xr[MG_IG_R];  /* rows past the end repeat the last pixel, and are not stored */    \
        for (int r = 0; r < MG_IG_R; r++) xr[r] = xp + mg_ig_base(g, p0 + (r < rows ? r : rows - 1));\
        T* yp = y + p0 * g->F;                                                                      \
        MG_IG_SWITCH(fwd, T, nv, v0, (xr, toff, g, w, b, yp, rows, v0));                            \
    }                                                                                               \
}                                                                                                   \
static void mg_ig_dweights_##T(const T* xp, const T* dy, T* dw, const mg_ig* g, Py_ssize_t nimg) { \
    int toff[g->KH * g->KW], v0;                                                                    \
    const int nv = g->F / (64 / (int)sizeof(T)), Kg = g->KH * g->KW * g->C;                         \
    mg_ig_taps(g, toff);                                                                            \
    for (int k0 = 0; k0 < Kg; k0 += MG_IG_R) {                                                      \
        const int rows = Kg - k0 < MG_IG_R ? Kg - k0 : MG_IG_R;                                     \
        int ko[MG_IG_R];                                                                            \
        for (int r = 0; r < MG_IG_R; r++) {                                                         \
            int k = k0 + (r < rows ? r : rows - 1);                                                 \
            ko[r] = toff[k / g->C] + k % g->C;                                                      \
        }                                                                                           \
        T* dwk = dw + (Py_ssize_t)k0 * g->F;                                                        \
        MG_IG_SWITCH(dw, T, nv, v0, (xp, ko, g, dy, nimg, dwk, rows, v0));                          \
    }                                                                                               \
}                                                                                                   \
static void mg_ig_dinput_##T(const T* dy, const T* wT, T* dxp, const mg_ig* g, Py_ssize_t nimg) {  \
    int toff[g->KH * g->KW], v0;                                                                    \
    const int nv = g->KH * g->KW * g->C / (64 / (int)sizeof(T));                                    \
    const Py_ssize_t P = nimg * g->OH * g->OW;                                                      \
    mg_ig_taps(g, toff);                                                                            \
    for (Py_ssize_t p0 = 0; p0 < P; p0 += MG_IG_R) {                                                \
        const int rows = P - p0 < MG_IG_R ? (int)(P - p0) : MG_IG_R;                                \
        const T* dr[MG_IG_R]; Py_ssize_t base[MG_IG_R];                                             \
        for (int r = 0; r < MG_IG_R; r++) {                                                         \
            Py_ssize_t p = p0 + (r < rows ? r : rows - 1);                                          \
            dr[r] = dy + p * g->F; base[r] = mg_ig_base(g, p);                                      \
        }                                                                                           \
        MG_IG_SWITCH(dx, T, nv, v0, (dr, base, toff, g, wT, dxp, rows, v0));                        \
    }                                                                                               \
}
MG_IG_ALL(float)
MG_IG_ALL(double)
#else  /* never called: the Cython side checks MG_HAVE_IG first */
#define MG_IG_STUBS(T)                                                                             \
static void mg_ig_forward_##T(const T* xp, const T* w, const T* b, T* y, const mg_ig* g,           \
                              Py_ssize_t nimg) { (void)xp; (void)w; (void)b; (void)y; (void)g; (void)nimg; }\
static void mg_ig_dweights_##T(const T* xp, const T* dy, T* dw, const mg_ig* g, Py_ssize_t nimg) { \
    (void)xp; (void)dy; (void)dw; (void)g; (void)nimg; }                                            \
static void mg_ig_dinput_##T(const T* dy, const T* wT, T* dxp, const mg_ig* g, Py_ssize_t nimg) {  \
    (void)dy; (void)wT; (void)dxp; (void)g; (void)nimg; }
MG_IG_STUBS(float)
MG_IG_STUBS(double)
#endif
#endif

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
static inline void mg_add_##T(T* restrict dst, const T* restrict src, Py_ssize_t n) {           \
    for (Py_ssize_t e = 0; e < n; e++) dst[e] += src[e];  /* col2im's scatter-add */           \
}
MG_ROWS(float)
MG_ROWS(double)
#endif

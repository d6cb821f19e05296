/* What _pool.pyx includes: the geometry of one 2-D pooling, the table type of its row kernels and
   one table per ISA level (isa.h, isa_levels.h: pool_isa.h compiled for baseline, AVX2 + FMA and
   AVX-512). The wider levels matter for windows that overlap (3x3 stride 1 average pooling ran
   1.9x slower on SSE2). Max pooling over channels is written in vector blocks of the level's width
   (pool_body.h), float64 included; over single-channel planes (channels_first) float64 stays
   scalar on SSE2, where GCC does not narrow a 64-bit compare mask onto the int32 argmax. */
#ifndef MINIGRAD_POOL_KERNELS_H
#define MINIGRAD_POOL_KERNELS_H
#include <stdint.h>
#include <string.h>
#include "isa.h"

typedef struct mg_pool_geom {
    int64_t H, W, K, OH, OW;  /* the (B, H, W, K) input view and the output rows and columns */
    int64_t pool_h, pool_w, stride_h, stride_w, pad_top, pad_left;
} mg_pool_geom;

/* the inputs [lo, hi) under output o's window along one axis of length n (clipped to the input) */
static inline void mg_pool_span(int64_t o, int64_t stride, int64_t pad, int64_t pool, int64_t n,
                                int64_t* lo, int64_t* hi) {
    int64_t start = o * stride - pad;
    *lo = start > 0 ? start : 0;
    *hi = start + pool < n ? start + pool : n;
}

/* max_row(x of one sample, y row, argmax row, oh, geometry), max_row_backward(dy row, argmax row,
   dx of one sample, oh, geometry), avg_row(x, y row, oh, geometry), avg_row_backward(dy row, dx of
   one sample, oh, geometry) */
typedef struct mg_pool_kernels {
    void (*max_row_f32)(const float*, float*, int32_t*, int64_t, const mg_pool_geom*);
    void (*max_row_f64)(const double*, double*, int32_t*, int64_t, const mg_pool_geom*);
    int64_t (*max_row_backward_f32)(const float*, const int32_t*, float*, int64_t, const mg_pool_geom*);
    int64_t (*max_row_backward_f64)(const double*, const int32_t*, double*, int64_t, const mg_pool_geom*);
    void (*avg_row_f32)(const float*, float*, int64_t, const mg_pool_geom*);
    void (*avg_row_f64)(const double*, double*, int64_t, const mg_pool_geom*);
    void (*avg_row_backward_f32)(const float*, float*, int64_t, const mg_pool_geom*);
    void (*avg_row_backward_f64)(const double*, double*, int64_t, const mg_pool_geom*);
} mg_pool_kernels;

#define ISA_FAMILY pool
#define ISA_BODY "pool_isa.h"
#include "isa_levels.h"
#endif

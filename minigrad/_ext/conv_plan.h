/* The checked geometry of one conv2d (NHWC), as every conv kernel reads it, and the kernel table
   of one ISA level. minigrad.kernels.conv_plan builds the plan in Python integers, checks that
   every size and every offset product the kernels form fits in int64 (and every buffer in the
   address space), then _conv copies it here: the kernels trust it and never re-derive a size. */
#ifndef MINIGRAD_CONV_PLAN_H
#define MINIGRAD_CONV_PLAN_H
#include <stdint.h>
#include <string.h>  /* memset: the Winograd kernels' zeros */

enum { MG_PATH_DIRECT = 0, MG_PATH_IMPLICIT = 1, MG_PATH_IM2COL = 2, MG_PATH_WINOGRAD = 3 };
/* the direct kernels list a pixel's taps in fixed arrays; the implicit GEMM one offset per tap */
enum { MG_DIRECT_MAX_TAPS = 32, MG_IMPLICIT_MAX_TAPS = 1024 };
/* Winograd F(4x4, 3x3): elements of a transformed 6x6 tile (its GEMMs), and the scratch a
   transform's first pass keeps (36 vectors of up to 16 lanes); kernels.conv_winograd reads both */
enum { MG_WINO_ELEMENTS = 36, MG_WINO_SCRATCH = 36 * 16 };

typedef struct mg_conv_plan {
    int64_t N, H, W, C;                            /* input x (N, H, W, C) */
    int64_t KH, KW, Cg, F;                         /* weights w (KH, KW, C/groups, F) */
    int64_t OH, OW;                                /* output y (N, OH, OW, F) */
    int64_t stride_h, stride_w, dilation_h, dilation_w;
    int64_t pad_top, pad_bottom, pad_left, pad_right;
    int64_t groups, Fg, Kg;                        /* Kg = KH*KW*Cg: im2col columns of a group */
    int64_t xp_h, xp_w;      /* rows/columns of the x the implicit GEMM reads (padded copy or x) */
    int64_t padded;          /* whether the implicit GEMM needs that zero-bordered copy */
    int64_t tiles_h, tiles_w;  /* Winograd: 4x4 output tiles per image, ceil(OH/4) x ceil(OW/4) */
    int64_t wino_images;      /* Winograd: images per pass (their V and M fit in L2) */
    int64_t chunk, n_chunks, n_threads;            /* images per chunk, chunks, OpenMP threads */
    int64_t slot_forward, slot_backward;           /* scratch elements per thread and direction */
    int64_t partials;        /* dw (Winograd: dU, 36 C F) + db partial sums per thread */
    int64_t path_forward, path_input_grad, path_weight_grad;    /* MG_PATH_* */
} mg_conv_plan;

/* One ISA level's compiled kernels (conv_isa_*.h); _conv picks a table at import. */
typedef struct mg_conv_kernels {
    int64_t lanes_f32, lanes_f64;                  /* vector width: implicit needs C, F multiples */
    void (*direct_forward_f32)(const mg_conv_plan*, const float*, const float*, const float*,
                               float*, int64_t, int64_t);
    void (*direct_forward_f64)(const mg_conv_plan*, const double*, const double*, const double*,
                               double*, int64_t, int64_t);
    void (*direct_dweights_f32)(const mg_conv_plan*, const float*, const float*, float*, int64_t,
                                int64_t);
    void (*direct_dweights_f64)(const mg_conv_plan*, const double*, const double*, double*,
                                int64_t, int64_t);
    void (*ig_forward_f32)(const mg_conv_plan*, const float*, const float*, const float*, float*,
                           int64_t);
    void (*ig_forward_f64)(const mg_conv_plan*, const double*, const double*, const double*,
                           double*, int64_t);
    void (*ig_dweights_f32)(const mg_conv_plan*, const float*, const float*, float*, int64_t);
    void (*ig_dweights_f64)(const mg_conv_plan*, const double*, const double*, double*, int64_t);
    void (*ig_dinput_f32)(const mg_conv_plan*, const float*, const float*, float*, int64_t);
    void (*ig_dinput_f64)(const mg_conv_plan*, const double*, const double*, double*, int64_t);
    void (*wino_forward_f32)(const mg_conv_plan*, const float*, const float*, const float*, float*,
                             int64_t, int64_t, float*);
    void (*wino_forward_f64)(const mg_conv_plan*, const double*, const double*, const double*,
                             double*, int64_t, int64_t, double*);
    void (*wino_dweights_f32)(const mg_conv_plan*, const float*, const float*, float*, int64_t,
                              int64_t, float*);
    void (*wino_dweights_f64)(const mg_conv_plan*, const double*, const double*, double*,
                              int64_t, int64_t, double*);
    void (*sum_rows_f32)(const float*, int64_t, int64_t, float*);
    void (*sum_rows_f64)(const double*, int64_t, int64_t, double*);
} mg_conv_kernels;
#endif

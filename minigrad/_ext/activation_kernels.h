/* What _activation.pyx includes: the table type of the elementwise activations and one table per
   ISA level (isa.h, isa_levels.h: activation_isa.h compiled for baseline, AVX2 + FMA and
   AVX-512). The wider levels matter where a loop is arithmetic on data in cache (sigmoid and
   tanh backward compute in double: 1.6x and 1.3x slower on SSE2), and contracting a * b + c as
   -march=native did, they keep its bits (gelu's tanh form). */
#ifndef MINIGRAD_ACTIVATION_KERNELS_H
#define MINIGRAD_ACTIVATION_KERNELS_H
#include <math.h>
#include <stdint.h>
#include "isa.h"

#define MG_SELU_ALPHA 1.6732632423543772848170429916717
#define MG_SELU_SCALE 1.0507009873554804934193349852946
#define MG_SQRT_2_OVER_PI 0.7978845608028654
#define MG_INV_SQRT_2 0.7071067811865476
#define MG_INV_SQRT_2PI 0.3989422804014327
#define MG_GELU_C 0.044715

enum {
    MG_ACT_RELU, MG_ACT_LEAKY_RELU, MG_ACT_ELU, MG_ACT_SELU, MG_ACT_GELU, MG_ACT_GELU_TANH,
    MG_ACT_SIGMOID, MG_ACT_HARD_SIGMOID, MG_ACT_TANH, MG_ACT_SOFTPLUS, MG_ACT_SILU, MG_ACT_COUNT
};
/* forward: x -> y; backward: dy, the saved x (or y) -> dx; over [start, stop); p: slope or alpha */
typedef void (*mg_act_forward_f32)(const float*, float*, int64_t, int64_t, float);
typedef void (*mg_act_forward_f64)(const double*, double*, int64_t, int64_t, double);
typedef void (*mg_act_backward_f32)(const float*, const float*, float*, int64_t, int64_t, float);
typedef void (*mg_act_backward_f64)(const double*, const double*, double*, int64_t, int64_t, double);
typedef struct mg_activation_kernels {
    mg_act_forward_f32 forward_f32[MG_ACT_COUNT];
    mg_act_forward_f64 forward_f64[MG_ACT_COUNT];
    mg_act_backward_f32 backward_f32[MG_ACT_COUNT];
    mg_act_backward_f64 backward_f64[MG_ACT_COUNT];
} mg_activation_kernels;

#define ISA_FAMILY activation
#define ISA_BODY "activation_isa.h"
#include "isa_levels.h"
#endif

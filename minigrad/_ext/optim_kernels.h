/* What _optim.pyx includes: the table type of the optimizer updates and one table per ISA level
   (isa.h, isa_levels.h: optim_isa.h compiled for baseline, AVX2 + FMA and AVX-512).
   These L2-sized loops are bound by sqrt and divide throughput: the wider levels ran RMSprop and
   the EMA about 2x faster than SSE2, and contracting a * b + c as -march=native did, they keep its
   bits. Arguments: w, g, the slot buffers, the span [start, stop), the scalars, the option flag. */
#ifndef MINIGRAD_OPTIM_KERNELS_H
#define MINIGRAD_OPTIM_KERNELS_H
#include <math.h>
#include <stdint.h>
#include "isa.h"

typedef struct mg_optim_kernels {
    void (*sgd_f32)(float*, const float*, float*, int64_t, int64_t, float, float, float, float,
                    float, int);
    void (*sgd_f64)(double*, const double*, double*, int64_t, int64_t, double, double, double,
                    double, double, int);
    void (*rmsprop_f32)(float*, const float*, float*, float*, float*, int64_t, int64_t, float,
                        float, float, float, float, float, float, int);
    void (*rmsprop_f64)(double*, const double*, double*, double*, double*, int64_t, int64_t,
                        double, double, double, double, double, double, double, int);
    void (*adam_f32)(float*, const float*, float*, float*, float*, int64_t, int64_t, float, float,
                     float, float, float, float, float, float, int);
    void (*adam_f64)(double*, const double*, double*, double*, double*, int64_t, int64_t, double,
                     double, double, double, double, double, double, double, int);
    void (*adagrad_f32)(float*, const float*, float*, int64_t, int64_t, float, float, float,
                        float, float);
    void (*adagrad_f64)(double*, const double*, double*, int64_t, int64_t, double, double, double,
                        double, double);
    void (*ema_f32)(float*, const float*, int64_t, int64_t, float);
    void (*ema_f64)(double*, const double*, int64_t, int64_t, double);
} mg_optim_kernels;

#define ISA_FAMILY optim
#define ISA_BODY "optim_isa.h"
#include "isa_levels.h"
#endif

/* What _conv.pyx includes: the plan struct (conv_plan.h), the kernels of each ISA level, each
   compiled for its own target inside this one translation unit (isa.h: conv_isa_baseline.h, then
   isa_fma.h once per FMA level, each defining a getter of its table), and the small row helpers
   for float and double (conv_rows.h). */
#ifndef MINIGRAD_CONV_KERNELS_H
#define MINIGRAD_CONV_KERNELS_H
#include <stddef.h>
#include <stdint.h>
#include "isa.h"
#include "conv_plan.h"
#include "conv_isa_baseline.h"
#define ISA_FAMILY conv
#define ISA_BODY "conv_isa.h"
#define ISA_NAME avx2  /* 256-bit vectors, 16 registers: 6 x 2 implicit-GEMM tiles */
#define ISA_TARGET "avx2,fma"
#define ISA_BITS 256
#define NV_MAX 2
#include "isa_fma.h"
#define ISA_NAME avx512  /* 512-bit vectors, 32 registers: 6 x 4 implicit-GEMM tiles */
#define ISA_TARGET "avx512f,avx2,fma"
#define ISA_BITS 512
#define NV_MAX 4
#include "isa_fma.h"
static const void* mg_family_table(int* level) {  /* see mg_isa_table and isa_select.pxi */
    return mg_isa_table(mg_conv_kernels_baseline(), mg_conv_kernels_avx2(), mg_conv_kernels_avx512(),
                        level);
}
#define T float
#define ROWS(name) name##_float
#include "conv_rows.h"
#undef T
#undef ROWS
#define T double
#define ROWS(name) name##_double
#include "conv_rows.h"
#undef T
#undef ROWS
#endif

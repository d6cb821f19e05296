/* What _conv.pyx includes: the plan struct (conv_plan.h), the kernels of each ISA level, each
   compiled for its own target inside this one translation unit (conv_isa_baseline.h, then
   conv_isa_fma.h once per FMA level: a getter per level, NULL where the architecture lacks it, and
   mg_cpu_isa), and the small row helpers for float and
   double (conv_rows.h). */
#ifndef MINIGRAD_CONV_KERNELS_H
#define MINIGRAD_CONV_KERNELS_H
#include <stddef.h>
#include <stdint.h>
#include "conv_plan.h"
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>  /* before any target pragma: the intrinsics carry their own targets */
#endif
#define MG_CAT_(a, b) a##b
#define MG_CAT(a, b) MG_CAT_(a, b)
#define MG_PRAGMA_(text) _Pragma(#text)
#define MG_PRAGMA(text) MG_PRAGMA_(text)  /* a #pragma whose text holds macros (ISA_TARGET) */
#include "conv_isa_baseline.h"
#define ISA_NAME avx2  /* 256-bit vectors, 16 registers: 6 x 2 implicit-GEMM tiles */
#define ISA_TARGET "avx2,fma"
#define ISA_BITS 256
#define NV_MAX 2
#include "conv_isa_fma.h"
#define ISA_NAME avx512  /* 512-bit vectors, 32 registers: 6 x 4 implicit-GEMM tiles */
#define ISA_TARGET "avx512f,avx2,fma"
#define ISA_BITS 512
#define NV_MAX 4
#include "conv_isa_fma.h"
#ifndef MG_MAX_ISA  /* the build knob MINIGRAD_BUILD_ISA caps the level the import may pick */
#define MG_MAX_ISA MG_ISA_AVX512
#endif
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

/* Included by conv_kernels.h once per FMA level (AVX2 + FMA, then AVX-512): the conv kernels
   compiled for that target (push/pop_options, whatever the build's -march), used only when CPUID
   reports it. The including file defines ISA_NAME (avx2, avx512), ISA_TARGET (the target string),
   ISA_BITS (the vector width: 256 gives __m256 and _mm256_* intrinsics) and NV_MAX (the widest
   implicit-GEMM tile in vectors: 2 of 16 registers, 4 of 32); this file undefines them. */
#define ISA_TABLE MG_CAT(mg_conv_kernels_, ISA_NAME)
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#if defined(__clang__)
MG_PRAGMA(clang attribute push(__attribute__((target(ISA_TARGET))), apply_to = function))
#else
MG_PRAGMA(GCC push_options)
MG_PRAGMA(GCC target(ISA_TARGET))
#endif
#define VOP(name) MG_CAT(MG_CAT(MG_CAT(_mm, ISA_BITS), _), name)  /* _mm256_ + name */
#define V32 MG_CAT(__m, ISA_BITS)
#define L32 (ISA_BITS / 32)
#define ZERO32() VOP(setzero_ps)()
#define LOAD32(p) VOP(loadu_ps)(p)
#define STORE32(p, v) VOP(storeu_ps)((p), (v))
#define SET32(s) VOP(set1_ps)(s)
#define FMA32(a, b, c) VOP(fmadd_ps)((a), (b), (c))
#define ADD32(a, b) VOP(add_ps)((a), (b))
#define V64 MG_CAT(MG_CAT(__m, ISA_BITS), d)
#define L64 (ISA_BITS / 64)
#define ZERO64() VOP(setzero_pd)()
#define LOAD64(p) VOP(loadu_pd)(p)
#define STORE64(p, v) VOP(storeu_pd)((p), (v))
#define SET64(s) VOP(set1_pd)(s)
#define FMA64(a, b, c) VOP(fmadd_pd)((a), (b), (c))
#define ADD64(a, b) VOP(add_pd)((a), (b))
#include "conv_isa.h"
#undef VOP
#if defined(__clang__)
MG_PRAGMA(clang attribute pop)
#else
MG_PRAGMA(GCC pop_options)
#endif
#else
static const mg_conv_kernels* ISA_TABLE(void) { return NULL; }
#undef NV_MAX
#undef ISA_NAME
#undef ISA_TABLE
#endif
#undef ISA_TARGET
#undef ISA_BITS

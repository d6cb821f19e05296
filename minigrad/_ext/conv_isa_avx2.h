/* Included by conv_kernels.h: the conv kernels for AVX2 + FMA (256-bit vectors, 16 registers:
   6 x 2 implicit-GEMM tiles), compiled for that target (push/pop_options) whatever the build's
   -march; used only when CPUID reports both. */
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define ISA_NAME avx2
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define NV_MAX 2
#define ISA_TABLE mg_conv_kernels_avx2
#define V32 __m256
#define L32 8
#define ZERO32() _mm256_setzero_ps()
#define LOAD32(p) _mm256_loadu_ps(p)
#define STORE32(p, v) _mm256_storeu_ps((p), (v))
#define SET32(s) _mm256_set1_ps(s)
#define FMA32(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define ADD32(a, b) _mm256_add_ps((a), (b))
#define V64 __m256d
#define L64 4
#define ZERO64() _mm256_setzero_pd()
#define LOAD64(p) _mm256_loadu_pd(p)
#define STORE64(p, v) _mm256_storeu_pd((p), (v))
#define SET64(s) _mm256_set1_pd(s)
#define FMA64(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#define ADD64(a, b) _mm256_add_pd((a), (b))
#include "conv_isa.h"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else
static const mg_conv_kernels* mg_conv_kernels_avx2(void) { return NULL; }
#endif

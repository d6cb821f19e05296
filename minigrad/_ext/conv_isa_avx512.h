/* Included by conv_kernels.h: the conv kernels for AVX-512 (512-bit vectors, 32 registers: 6 x 4
   implicit-GEMM tiles), compiled for that target (push/pop_options) whatever the build's -march;
   used only when CPUID reports AVX-512F. */
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define ISA_NAME avx512
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
#endif
#define NV_MAX 4
#define ISA_TABLE mg_conv_kernels_avx512
#define V32 __m512
#define L32 16
#define ZERO32() _mm512_setzero_ps()
#define LOAD32(p) _mm512_loadu_ps(p)
#define STORE32(p, v) _mm512_storeu_ps((p), (v))
#define SET32(s) _mm512_set1_ps(s)
#define FMA32(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define ADD32(a, b) _mm512_add_ps((a), (b))
#define V64 __m512d
#define L64 8
#define ZERO64() _mm512_setzero_pd()
#define LOAD64(p) _mm512_loadu_pd(p)
#define STORE64(p, v) _mm512_storeu_pd((p), (v))
#define SET64(s) _mm512_set1_pd(s)
#define FMA64(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#define ADD64(a, b) _mm512_add_pd((a), (b))
#include "conv_isa.h"
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#else
static const mg_conv_kernels* mg_conv_kernels_avx512(void) { return NULL; }
#endif

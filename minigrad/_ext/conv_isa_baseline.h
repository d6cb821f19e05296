/* Included by conv_kernels.h: the conv kernels every CPU of the build's architecture runs: SSE2 on
   x86-64 (its baseline; no FMA, so multiply then add), plain scalar C elsewhere. */
#define NV_MAX 2
#define ISA_TABLE mg_conv_kernels_baseline
#define ISA_NAME baseline
#if defined(__x86_64__) || defined(_M_X64)
#define V32 __m128
#define L32 4
#define ZERO32() _mm_setzero_ps()
#define LOAD32(p) _mm_loadu_ps(p)
#define STORE32(p, v) _mm_storeu_ps((p), (v))
#define SET32(s) _mm_set1_ps(s)
#define FMA32(a, b, c) _mm_add_ps(_mm_mul_ps((a), (b)), (c))
#define ADD32(a, b) _mm_add_ps((a), (b))
#define SUB32(a, b) _mm_sub_ps((a), (b))
#define V64 __m128d
#define L64 2
#define ZERO64() _mm_setzero_pd()
#define LOAD64(p) _mm_loadu_pd(p)
#define STORE64(p, v) _mm_storeu_pd((p), (v))
#define SET64(s) _mm_set1_pd(s)
#define FMA64(a, b, c) _mm_add_pd(_mm_mul_pd((a), (b)), (c))
#define ADD64(a, b) _mm_add_pd((a), (b))
#define SUB64(a, b) _mm_sub_pd((a), (b))
#else
#define V32 float
#define L32 1
#define ZERO32() 0.0f
#define LOAD32(p) (*(p))
#define STORE32(p, v) (*(p) = (v))
#define SET32(s) (s)
#define FMA32(a, b, c) ((a) * (b) + (c))
#define ADD32(a, b) ((a) + (b))
#define SUB32(a, b) ((a) - (b))
#define V64 double
#define L64 1
#define ZERO64() 0.0
#define LOAD64(p) (*(p))
#define STORE64(p, v) (*(p) = (v))
#define SET64(s) (s)
#define FMA64(a, b, c) ((a) * (b) + (c))
#define ADD64(a, b) ((a) + (b))
#define SUB64(a, b) ((a) - (b))
#endif
#include "conv_isa.h"
#include "isa_undef.h"

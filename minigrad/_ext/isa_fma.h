/* Included once per FMA level (AVX2 + FMA, then AVX-512) by a kernel family (see isa.h): its body
   ISA_BODY compiled for that target (push/pop_options, whatever the build's -march), with vector
   macros V32, LOAD32, FMA32, ... (and 64) for bodies written in intrinsics. The family defines
   ISA_BODY and ISA_FAMILY (conv: the getter mg_conv_kernels_avx2 of a mg_conv_kernels table); each
   level defines ISA_NAME (avx2, avx512), ISA_TARGET (the target string), ISA_BITS (the vector
   width: 256 gives __m256 and _mm256_* intrinsics) and what its body needs (conv: NV_MAX). */
#define ISA_TABLE MG_CAT(MG_CAT(MG_CAT(mg_, ISA_FAMILY), _kernels_), ISA_NAME)
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
#define SUB32(a, b) VOP(sub_ps)((a), (b))
#define V64 MG_CAT(MG_CAT(__m, ISA_BITS), d)
#define L64 (ISA_BITS / 64)
#define ZERO64() VOP(setzero_pd)()
#define LOAD64(p) VOP(loadu_pd)(p)
#define STORE64(p, v) VOP(storeu_pd)((p), (v))
#define SET64(s) VOP(set1_pd)(s)
#define FMA64(a, b, c) VOP(fmadd_pd)((a), (b), (c))
#define ADD64(a, b) VOP(add_pd)((a), (b))
#define SUB64(a, b) VOP(sub_pd)((a), (b))
#include ISA_BODY
#if defined(__clang__)
MG_PRAGMA(clang attribute pop)
#else
MG_PRAGMA(GCC pop_options)
#endif
#else
static const MG_CAT(MG_CAT(mg_, ISA_FAMILY), _kernels)* ISA_TABLE(void) { return NULL; }
#endif
#include "isa_undef.h"

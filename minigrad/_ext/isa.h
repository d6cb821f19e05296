/* The ISA levels of minigrad's vector kernels and how a kernel family is built for each, in one
   translation unit whatever the build's -march: a family's body (conv_isa.h, optim_isa.h) is
   compiled once plainly for baseline x86-64 (SSE2) and once per FMA level through isa_fma.h, under
   that level's target pragma; each compilation defines a getter of its function table
   (mg_<family>_kernels_<level>: NULL where the architecture lacks the level), and the extension
   picks a table at import with mg_isa_table from what CPUID reports. */
#ifndef MINIGRAD_ISA_H
#define MINIGRAD_ISA_H
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>  /* before any target pragma: the intrinsics carry their own targets */
#endif
#define MG_CAT_(a, b) a##b
#define MG_CAT(a, b) MG_CAT_(a, b)
#define MG_PRAGMA_(text) _Pragma(#text)
#define MG_PRAGMA(text) MG_PRAGMA_(text)  /* a #pragma whose text holds macros (ISA_TARGET) */

enum { MG_ISA_BASELINE = 0, MG_ISA_AVX2 = 1, MG_ISA_AVX512 = 2 };
#ifndef MG_MAX_ISA  /* the build knob MINIGRAD_BUILD_ISA caps the level the import may pick */
#define MG_MAX_ISA MG_ISA_AVX512
#endif

static int mg_cpu_isa(void) {
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();  /* these also check that the OS saves the wider registers */
    if (__builtin_cpu_supports("avx512f")) return MG_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return MG_ISA_AVX2;
#endif
    return MG_ISA_BASELINE;
}

/* The table of the highest level <= *level that the CPU runs, the build allows and that was
   compiled (its getter does not return NULL); *level becomes that level. */
static const void* mg_isa_table(const void* baseline, const void* avx2, const void* avx512,
                                int* level) {
    const void* tables[3] = {baseline, avx2, avx512};
    int l = *level < mg_cpu_isa() ? *level : mg_cpu_isa();
    l = l < MG_MAX_ISA ? l : MG_MAX_ISA;
    while (l > MG_ISA_BASELINE && tables[l] == NULL) l--;
    *level = l;
    return tables[l];
}
#endif

/* Every ISA level of a kernel family written in plain C (GCC vectorizes it for each target): the
   family defines ISA_FAMILY and ISA_BODY (see isa.h) and includes this once. The body is compiled
   for baseline x86-64 as the build targets it, then for AVX2 + FMA and AVX-512 (isa_fma.h). */
#define ISA_NAME baseline
#define ISA_TABLE MG_CAT(MG_CAT(mg_, ISA_FAMILY), _kernels_baseline)
#include ISA_BODY
#include "isa_undef.h"
#define ISA_NAME avx2
#define ISA_TARGET "avx2,fma"
#define ISA_BITS 256
#include "isa_fma.h"
#define ISA_NAME avx512
#define ISA_TARGET "avx512f,avx2,fma"
#define ISA_BITS 512
#include "isa_fma.h"
#undef ISA_FAMILY
#undef ISA_BODY

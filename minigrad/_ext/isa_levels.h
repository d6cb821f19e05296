/* Every ISA level of a kernel family written in plain C (GCC vectorizes it for each target): the
   family defines ISA_FAMILY and ISA_BODY (see isa.h) and includes this once. The body is compiled
   for baseline x86-64 as the build targets it, then for AVX2 + FMA and AVX-512 (isa_fma.h), and
   mg_family_table picks one (isa_select.pxi calls it). */
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
/* this family's table at the highest level <= *level this CPU and build run (see mg_isa_table) */
static const void* mg_family_table(int* level) {
    return mg_isa_table(MG_CAT(MG_CAT(mg_, ISA_FAMILY), _kernels_baseline)(),
                        MG_CAT(MG_CAT(mg_, ISA_FAMILY), _kernels_avx2)(),
                        MG_CAT(MG_CAT(mg_, ISA_FAMILY), _kernels_avx512)(), level);
}
#undef ISA_FAMILY
#undef ISA_BODY

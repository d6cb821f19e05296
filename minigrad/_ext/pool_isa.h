/* The pooling family's body (see isa.h): pool_body.h for float then double, and the table of this
   ISA level (ISA_NAME, ISA_TABLE: the getter's name). */
#define ISA_TYPES_BODY "pool_body.h"
#include "isa_types.h"

#define FN32(name) MG_CAT(MG_CAT(name, _f32_), ISA_NAME)
#define FN64(name) MG_CAT(MG_CAT(name, _f64_), ISA_NAME)
static const mg_pool_kernels MG_CAT(mg_pool_table_, ISA_NAME) = {
    FN32(max_row), FN64(max_row), FN32(max_row_backward), FN64(max_row_backward), FN32(avg_row), FN64(avg_row), FN32(avg_row_backward),
    FN64(avg_row_backward),
};
static const mg_pool_kernels* ISA_TABLE(void) { return &MG_CAT(mg_pool_table_, ISA_NAME); }
#undef FN32
#undef FN64

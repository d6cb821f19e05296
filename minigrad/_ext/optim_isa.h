/* The optimizer family's body (see isa.h): optim_body.h for float then double, and the table of
   this ISA level (ISA_NAME, ISA_TABLE: the getter's name). Plain C that GCC vectorizes for the
   level's target; on the FMA levels it contracts a * b + c as -march=native did. */
#define ISA_TYPES_BODY "optim_body.h"
#include "isa_types.h"

#define FN32(name) MG_CAT(MG_CAT(name, _f32_), ISA_NAME)
#define FN64(name) MG_CAT(MG_CAT(name, _f64_), ISA_NAME)
static const mg_optim_kernels MG_CAT(mg_optim_table_, ISA_NAME) = {
    FN32(sgd), FN64(sgd), FN32(rmsprop), FN64(rmsprop), FN32(adam), FN64(adam),
    FN32(adagrad), FN64(adagrad), FN32(ema), FN64(ema),
};
static const mg_optim_kernels* ISA_TABLE(void) { return &MG_CAT(mg_optim_table_, ISA_NAME); }
#undef FN32
#undef FN64

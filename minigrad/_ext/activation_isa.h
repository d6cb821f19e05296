/* The activation family's body (see isa.h): activation_body.h for float then double, and the
   table of this ISA level (ISA_NAME, ISA_TABLE: the getter's name). Plain C that GCC vectorizes for
   the level's target where no libm call is in the loop. */
#define ISA_TYPES_BODY "activation_body.h"
#include "isa_types.h"

/* one entry per MG_ACT_* kernel, in that order */
#define MG_ACT_TABLE(FN, way)                                                                     \
    {FN(relu_##way), FN(leaky_relu_##way), FN(elu_##way), FN(selu_##way), FN(gelu_##way),        \
     FN(gelu_tanh_##way), FN(sigmoid_##way), FN(hard_sigmoid_##way), FN(tanh_##way),              \
     FN(softplus_##way), FN(silu_##way)}
#define FN32(name) MG_CAT(MG_CAT(name, _f32_), ISA_NAME)
#define FN64(name) MG_CAT(MG_CAT(name, _f64_), ISA_NAME)
static const mg_activation_kernels MG_CAT(mg_activation_table_, ISA_NAME) = {
    MG_ACT_TABLE(FN32, forward), MG_ACT_TABLE(FN64, forward),
    MG_ACT_TABLE(FN32, backward), MG_ACT_TABLE(FN64, backward),
};
static const mg_activation_kernels* ISA_TABLE(void) { return &MG_CAT(mg_activation_table_, ISA_NAME); }
#undef MG_ACT_TABLE
#undef FN32
#undef FN64

/* The conv family's body (see isa.h): the kernels for float then double, and the table of this ISA
   level. The level defines NV_MAX, ISA_NAME, ISA_TABLE (the getter's name) and, per element type,
   V32, L32, ZERO32, LOAD32, STORE32, SET32, FMA32, ADD32, SUB32 (and the same with 64); isa_undef.h
   undefines them after. */

#define T float
#define V V32
#define L L32
#define FN(name) MG_CAT(MG_CAT(name, _f32_), ISA_NAME)
#define VZERO ZERO32
#define VLOAD LOAD32
#define VSTORE STORE32
#define VSET1 SET32
#define VFMA FMA32
#define VADD ADD32
#define VSUB SUB32
#include "conv_body.h"
#undef T
#undef V
#undef L
#undef FN
#undef VZERO
#undef VLOAD
#undef VSTORE
#undef VSET1
#undef VFMA
#undef VADD
#undef VSUB

#define T double
#define V V64
#define L L64
#define FN(name) MG_CAT(MG_CAT(name, _f64_), ISA_NAME)
#define VZERO ZERO64
#define VLOAD LOAD64
#define VSTORE STORE64
#define VSET1 SET64
#define VFMA FMA64
#define VADD ADD64
#define VSUB SUB64
#include "conv_body.h"
#undef T
#undef V
#undef L
#undef FN
#undef VZERO
#undef VLOAD
#undef VSTORE
#undef VSET1
#undef VFMA
#undef VADD
#undef VSUB

#define FN32(name) MG_CAT(MG_CAT(name, _f32_), ISA_NAME)
#define FN64(name) MG_CAT(MG_CAT(name, _f64_), ISA_NAME)
static const mg_conv_kernels MG_CAT(mg_table_, ISA_NAME) = {
    L32, L64, FN32(direct_forward), FN64(direct_forward), FN32(direct_dweights),
    FN64(direct_dweights), FN32(ig_forward), FN64(ig_forward), FN32(ig_dweights),
    FN64(ig_dweights), FN32(ig_dinput), FN64(ig_dinput), FN32(wino_forward), FN64(wino_forward),
    FN32(wino_dweights), FN64(wino_dweights), FN32(sum_rows), FN64(sum_rows),
};
static const mg_conv_kernels* ISA_TABLE(void) { return &MG_CAT(mg_table_, ISA_NAME); }
#undef FN32
#undef FN64

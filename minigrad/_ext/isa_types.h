/* A plain-C family's body for float then double at one ISA level (optim_isa.h, activation_isa.h
   define ISA_TYPES_BODY and include this): each pass defines T, FN(name) (the name with its type
   and level suffix: rmsprop_f32_avx2) and LIBM(name) (the libm function of T: sqrtf or sqrt). */
#define T float
#define FN(name) MG_CAT(MG_CAT(name, _f32_), ISA_NAME)
#define LIBM(name) name##f
#include ISA_TYPES_BODY
#undef T
#undef FN
#undef LIBM
#define T double
#define FN(name) MG_CAT(MG_CAT(name, _f64_), ISA_NAME)
#define LIBM(name) name
#include ISA_TYPES_BODY
#undef T
#undef FN
#undef LIBM
#undef ISA_TYPES_BODY

/* What one ISA level of a kernel family defined (isa_fma.h, conv_isa_baseline.h, optim_kernels.h
   include this after the level's body), so that the next level can define its own. */
#undef ISA_NAME
#undef ISA_TABLE
#undef ISA_TARGET
#undef ISA_BITS
#undef NV_MAX
#undef VOP
#undef V32
#undef L32
#undef ZERO32
#undef LOAD32
#undef STORE32
#undef SET32
#undef FMA32
#undef ADD32
#undef SUB32
#undef V64
#undef L64
#undef ZERO64
#undef LOAD64
#undef STORE64
#undef SET64
#undef FMA64
#undef ADD64
#undef SUB64

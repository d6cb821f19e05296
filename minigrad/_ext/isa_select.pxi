# Included by every extension whose kernels exist per ISA level (isa.h: _conv, _activation, _optim,
# _pool), after its `cdef extern` block names the family's table struct `Kernels` (with its C name)
# and declares mg_family_table. The import picks the best level CPUID reports, capped by the
# build's MINIGRAD_BUILD_ISA and by MINIGRAD_ISA; select_isa changes it (tests cover every level).
from minigrad._ext import ISA_LEVELS, isa_from_environment, isa_index

cdef const Kernels* _k = NULL
cdef int _isa = 0


def select_isa(str level=None) -> str:
    """Use the kernels of `level` ('baseline', 'avx2', 'avx512'; None: the best), capped by the CPU
    and the build; returns the level chosen."""
    global _k, _isa
    _isa = isa_index(__name__.rpartition(".")[2], level)
    _k = <const Kernels*>mg_family_table(&_isa)
    return ISA_LEVELS[_isa]


def isa() -> str:
    """The ISA level whose kernels run."""
    return ISA_LEVELS[_isa]


select_isa(isa_from_environment())

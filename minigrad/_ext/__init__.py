"""Compiled Cython extensions. Kernels here trust their input: validate in minigrad.kernels first.

_conv, _activation, _optim and _pool carry their kernels for every ISA level (isa.h) and pick one at
import (isa_select.pxi): the best CPUID reports, capped by the build's MINIGRAD_BUILD_ISA and by
MINIGRAD_ISA.
"""
from __future__ import annotations

import os
import warnings

ISA_LEVELS = ("baseline", "avx2", "avx512")  # index = MG_ISA_* of isa.h


def isa_index(module: str, level: str | None) -> int:
    """The MG_ISA_* index of an ISA level name (None: the highest)."""
    if level is None:
        return len(ISA_LEVELS) - 1
    if level not in ISA_LEVELS:
        raise ValueError(f"{module}: ISA level must be one of {ISA_LEVELS}, received {level!r}")
    return ISA_LEVELS.index(level)


_warned: set[str] = set()  # MINIGRAD_ISA values already warned about: once, not once per extension


def isa_from_environment() -> str | None:
    """The level MINIGRAD_ISA asks for, or None (a value that names no level warns and is ignored)."""
    level = os.environ.get("MINIGRAD_ISA") or None
    if level is not None and level not in ISA_LEVELS:
        if level not in _warned:
            _warned.add(level)
            warnings.warn(f"minigrad: MINIGRAD_ISA={level!r} is not one of {ISA_LEVELS}; ignored",
                          RuntimeWarning, stacklevel=3)
        return None
    return level

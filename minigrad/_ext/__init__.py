"""Compiled Cython extensions. Kernels here trust their input: validate in minigrad.kernels first."""

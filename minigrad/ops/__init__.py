"""The op registry: every differentiable operation, built-in or plugin, by name.

`ops.apply(name, *inputs, **attrs)` is the one path from Tensors to kernels.
"""
from minigrad.ops.base import Context, Op, apply, get, names, register, registry
from minigrad.ops import (  # noqa: F401  (importing a family registers its ops)
    activation, arithmetic, convolution, elementwise, pool, reduce, shape,
)

__all__ = ["Op", "Context", "apply", "get", "names", "register", "registry"]

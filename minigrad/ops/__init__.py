"""The op registry: every differentiable operation, built-in or plugin, by name.

`ops.apply(name, *inputs, **attrs)` is the one path from Tensors to kernels.
"""
from minigrad.ops.base import Context, Op, apply, get, names, register, registry
from minigrad.ops import arithmetic, elementwise, reduce, shape  # noqa: F401  (registers built-ins)
from minigrad._ext import _tensor as _engine

__all__ = ["Op", "Context", "apply", "get", "names", "register", "registry"]

for _family in ("conv", "pool", "activation"):  # kernel-backed families, present once built
    try:
        __import__(f"minigrad.ops.{_family}")
    except ModuleNotFoundError as _e:
        if _e.name != f"minigrad.ops.{_family}":
            raise

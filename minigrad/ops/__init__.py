"""The op registry and the keras.ops-style namespace.

`ops.apply(name, *inputs, **attrs)` is the one path from Tensors to kernels; every registered op
(built-in or plugin) is reached by name. The functions beside it (`ops.matmul`, `ops.softmax`,
`ops.mean(x, axis=-1)`, ...) are keras.ops' names with its argument names and defaults: they take
Tensors, arrays or scalars, return Tensors, and are differentiable through registered ops.
"""
from minigrad.ops.base import Context, Op, apply, get, names, register, registry
from minigrad.ops import (  # noqa: F401  (importing a family registers its ops)
    activation, arithmetic, convolution, elementwise, layout, linalg, pool, reduce, transposed_conv,
)
from minigrad.ops.core import *  # noqa: F401,F403
from minigrad.ops.numeric import *  # noqa: F401,F403
from minigrad.ops.arrays import *  # noqa: F401,F403
from minigrad.ops.creation import *  # noqa: F401,F403
from minigrad.ops.linalg import *  # noqa: F401,F403
from minigrad.ops.stats import *  # noqa: F401,F403
from minigrad.ops.trigonometric import *  # noqa: F401,F403
from minigrad.ops.nn import *  # noqa: F401,F403
from minigrad.ops import arrays as _arrays, core as _core, linalg as _linalg, nn as _nn, numeric as _numeric
from minigrad.ops import creation as _creation, stats as _stats, trigonometric as _trigonometric

__all__ = ["Op", "Context", "apply", "get", "names", "register", "registry",
           *_core.__all__, *_numeric.__all__, *_arrays.__all__, *_creation.__all__,
           *_linalg.__all__, *_stats.__all__, *_trigonometric.__all__, *_nn.__all__]

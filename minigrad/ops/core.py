"""keras.ops core names: conversion, dtype, shape queries, stop_gradient and control flow.

These are the entry points the other `ops` functions use to turn arrays, lists and scalars into
Tensors, so every function of the namespace accepts the same inputs.
"""
from __future__ import annotations

from typing import Any

import numpy as np

import functools

from minigrad._ext._tensor import TensorBase, apply, make_tensor
from minigrad.ops.base import Context, Op
from minigrad.tensor import Tensor, no_grad

__all__ = ["convert_to_tensor", "convert_to_numpy", "is_tensor", "cast", "dtype", "shape", "ndim", "size",
           "stop_gradient", "standardize_dtype", "KERAS_FLOATX", "cond", "fori_loop", "while_loop", "scan", "map",
           "custom_gradient"]

KERAS_FLOATX = "float32"  # keras.config.floatx(): the dtype of new float tensors


def standardize_dtype(dtype: Any, who: str = "ops") -> np.dtype:
    """A numpy dtype from a Keras dtype name ('float32', 'int64', 'bool', ...) or a numpy dtype."""
    if isinstance(dtype, TensorBase):
        raise TypeError(f"{who}: expected a dtype, received a Tensor")
    try:
        out = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{who}: unknown dtype {dtype!r}; expected a name such as 'float32', 'int32' "
                        f"or 'bool'") from None
    if out.kind not in "fiub" or out == np.float16:
        raise TypeError(f"{who}: unsupported dtype {out.name}; minigrad tensors are float32/float64, "
                        f"integer or bool (Keras' float16/bfloat16/complex are not supported)")
    return out


def convert_to_tensor(x: Any, dtype: Any = None, sparse: bool | None = None,
                      ragged: bool | None = None) -> Tensor:
    """A Tensor from a Tensor (returned as is unless dtype differs), an array, a list or a scalar."""
    if sparse or ragged:
        raise ValueError("convert_to_tensor: sparse and ragged tensors are not supported by minigrad")
    if isinstance(x, TensorBase):
        if dtype is None or standardize_dtype(dtype, "convert_to_tensor") == x.data.dtype:
            return x
        return cast(x, dtype)
    if dtype is not None:
        return Tensor(np.asarray(x, dtype=standardize_dtype(dtype, "convert_to_tensor")))
    return Tensor(x)


def as_tensor(x: Any) -> Tensor:
    """convert_to_tensor without a dtype: the one conversion every ops function uses."""
    return x if isinstance(x, TensorBase) else Tensor(x)


def as_array(x: Any) -> np.ndarray:
    """The ndarray behind a Tensor, or np.asarray of anything else (for index and mask arguments)."""
    return x.data if isinstance(x, TensorBase) else np.asarray(x)


def convert_to_numpy(x: Any) -> np.ndarray:
    """The value as an ndarray (a copy, as Keras returns one)."""
    return np.array(as_array(x))


def is_tensor(x: Any) -> bool:
    """True for a minigrad Tensor."""
    return isinstance(x, TensorBase)


def cast(x: Any, dtype: Any) -> Tensor:
    """x as dtype; differentiable between float dtypes, a cast to int/bool carries no gradient."""
    target = standardize_dtype(dtype, "cast")
    x = as_tensor(x)
    if target == x.data.dtype:
        return x
    if target.kind == "f":
        return apply("cast", x, dtype=target)
    return make_tensor(x.data.astype(target), False)


def dtype(x: Any) -> str:
    """The dtype name of x ('float32', 'int64', ...)."""
    return as_array(x).dtype.name


def shape(x: Any) -> tuple[int, ...]:
    """The shape of x as a tuple of ints."""
    return tuple(as_array(x).shape)


def ndim(x: Any) -> int:
    """The number of axes of x."""
    return as_array(x).ndim


def size(x: Any) -> int:
    """The number of elements of x."""
    return int(as_array(x).size)


def stop_gradient(variable: Any) -> Tensor:
    """The same values, cut from the graph: no gradient flows through."""
    return make_tensor(as_array(variable), False)


# ----- control flow: eager Python, so every branch and step records its own graph
def cond(pred: Any, true_fn: Any, false_fn: Any) -> Any:
    """true_fn() if pred else false_fn()."""
    return true_fn() if bool(as_array(pred)) else false_fn()


def fori_loop(lower: int, upper: int, body_fun: Any, init_val: Any) -> Any:
    """val = body_fun(i, val) for i in range(lower, upper)."""
    val = init_val
    for i in range(int(as_array(lower)), int(as_array(upper))):
        val = body_fun(i, val)
    return val


def while_loop(cond: Any, body: Any, loop_vars: Any, maximum_iterations: int | None = None) -> Any:
    """loop_vars = body(*loop_vars) while cond(*loop_vars) (at most maximum_iterations times)."""
    single = not isinstance(loop_vars, (list, tuple))
    state = (loop_vars,) if single else tuple(loop_vars)
    steps = 0
    while bool(as_array(cond(*state))) and (maximum_iterations is None or steps < maximum_iterations):
        out = body(*state)
        state = (out,) if single else tuple(out)
        steps += 1
    return state[0] if single else type(loop_vars)(state)


def scan(f: Any, init: Any, xs: Any = None, length: int | None = None, reverse: bool = False,
         unroll: int = 1) -> tuple[Any, Any]:
    """(carry, stacked ys) of carry, y = f(carry, x) over the leading axis of xs (jax.lax.scan)."""
    from minigrad.ops.arrays import stack

    if xs is None and length is None:
        raise ValueError("scan: give xs or length")
    n = length if xs is None else len(as_array(xs))
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry, ys = init, []
    for i in order:
        carry, y = f(carry, None if xs is None else as_tensor(xs)[i])
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, (stack(ys) if ys and ys[0] is not None else None)


def map(f: Any, xs: Any) -> Tensor:  # noqa: A001 (Keras' name)
    """f applied to each slice of xs along its leading axis, the results stacked."""
    from minigrad.ops.arrays import stack

    xs = as_tensor(xs)
    return stack([f(xs[i]) for i in range(len(xs))])


class _CustomGradient(Op):
    """f's forward with the gradient function f returned beside its value (keras.ops.custom_gradient)."""

    name = "custom_gradient"

    def forward(self, ctx: Context, *arrays: np.ndarray, fn: Any) -> np.ndarray:
        with no_grad():  # f's own ops record nothing: its gradient is the one it returns
            value, grad_fn = fn(*(make_tensor(a, False) for a in arrays))
        ctx.save(grad_fn)
        return np.asarray(as_array(value))

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        with no_grad():
            # upstream passed positionally suits both grad(upstream) and grad(*args, upstream=None)
            grads = ctx.saved[0](make_tensor(dy, False))
        grads = tuple(grads) if isinstance(grads, (list, tuple)) else (grads,)
        if len(grads) != len(ctx.needs_input_grad):
            raise ValueError(f"custom_gradient: the gradient function returned {len(grads)} gradients for "
                             f"{len(ctx.needs_input_grad)} inputs")
        return tuple(None if g is None else np.asarray(as_array(g), dtype=dy.dtype) for g in grads)


_CUSTOM_GRADIENT = _CustomGradient()


def custom_gradient(f: Any) -> Any:
    """Decorator: f(*tensors) returns (value, grad) and grad(upstream) gives one gradient per input."""
    @functools.wraps(f)
    def wrapper(*args: Any) -> Tensor:
        return apply(_CUSTOM_GRADIENT, *(as_tensor(a) for a in args), fn=f)
    return wrapper

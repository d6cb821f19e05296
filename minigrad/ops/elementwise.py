"""Unary math: exp, log, sqrt, abs, clip, cast, sin, cos, erf."""
from __future__ import annotations

import numpy as np

from minigrad.ops.base import Context, Op, register


@register("exp")
class Exp(Op):
    """y = exp(x); dx = y dy."""

    def forward(self, ctx: Context, x: np.ndarray) -> np.ndarray:
        y = np.exp(x)
        ctx.save(y)
        return y

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy * ctx.saved[0],)

    def strategy(self):
        from minigrad.testing import strategies as S

        return S.op_inputs(S.arrays())


@register("log")
class Log(Op):
    """y = ln(x); dx = dy / x."""

    def forward(self, ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save(x)
        return np.log(x)

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy / ctx.saved[0],)

    def strategy(self):
        from minigrad.testing import strategies as S

        return S.op_inputs(S.positive_arrays())


@register("sqrt")
class Sqrt(Op):
    """y = sqrt(x); dx = dy / (2 y)."""

    def forward(self, ctx: Context, x: np.ndarray) -> np.ndarray:
        y = np.sqrt(x)
        ctx.save(y)
        return y

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy / (2 * ctx.saved[0]),)

    def strategy(self):
        from minigrad.testing import strategies as S

        return S.op_inputs(S.positive_arrays())


@register("abs")
class Abs(Op):
    """y = |x|; dx = sign(x) dy (0 at x = 0)."""

    def forward(self, ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save(x)
        return np.abs(x)

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy * np.sign(ctx.saved[0]),)

    def strategy(self):
        from minigrad.testing import strategies as S

        return S.op_inputs(S.kink_free_arrays(kinks=(0.0,)))


@register("clip")
class Clip(Op):
    """y = min(max(x, low), high); the gradient passes only strictly inside the bounds."""

    def check(self, x: np.ndarray, *, low: float | None = None, high: float | None = None) -> None:
        if low is not None and high is not None and low > high:
            raise ValueError(f"clip: low must be <= high, received low={low}, high={high}")

    def forward(self, ctx: Context, x: np.ndarray, *, low: float | None = None,
                high: float | None = None) -> np.ndarray:
        ctx.save(x)
        if low is None and high is None:
            return x.copy()
        return np.clip(x, low, high)

    def backward(self, ctx: Context, dy: np.ndarray):
        (x,) = ctx.saved
        low, high = ctx.attrs.get("low"), ctx.attrs.get("high")
        inside = np.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x > low
        if high is not None:
            inside &= x < high
        return (np.where(inside, dy, np.zeros((), dy.dtype)),)

    def strategy(self):
        from minigrad.testing import strategies as S

        return S.op_inputs(S.kink_free_arrays(kinks=(-0.5, 0.7)), low=-0.5, high=0.7)


@register("cast")
class Cast(Op):
    """y = x as dtype; the gradient is cast back to x's dtype."""

    def check(self, x: np.ndarray, *, dtype: np.dtype) -> None:
        if np.dtype(dtype).kind not in "fiub" or np.dtype(dtype) == np.float16:
            raise TypeError(f"cast: unsupported target dtype {dtype}")

    def forward(self, ctx: Context, x: np.ndarray, *, dtype: np.dtype) -> np.ndarray:
        ctx.source = x.dtype
        return x.astype(dtype)

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy.astype(ctx.source),)

    def strategy(self):
        from minigrad.testing import strategies as S

        return S.op_inputs(S.arrays(), dtype=np.dtype(np.float64))


@register("sin")
class Sin(Op):
    """y = sin(x); dx = cos(x) dy."""

    def forward(self, ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save(x)
        return np.sin(x)

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy * np.cos(ctx.saved[0]),)

    def strategy(self):
        from minigrad.testing import strategies as S

        return S.op_inputs(S.arrays())


@register("cos")
class Cos(Op):
    """y = cos(x); dx = -sin(x) dy."""

    def forward(self, ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save(x)
        return np.cos(x)

    def backward(self, ctx: Context, dy: np.ndarray):
        return (-dy * np.sin(ctx.saved[0]),)

    def strategy(self):
        from minigrad.testing import strategies as S

        return S.op_inputs(S.arrays())


@register("erf")
class Erf(Op):
    """y = erf(x); dx = 2 / sqrt(pi) exp(-x^2) dy."""

    def forward(self, ctx: Context, x: np.ndarray) -> np.ndarray:
        from scipy.special import erf

        ctx.save(x)
        return erf(x)

    def backward(self, ctx: Context, dy: np.ndarray):
        (x,) = ctx.saved
        return (dy * (2.0 / np.sqrt(np.pi)) * np.exp(-x * x),)

    def strategy(self):
        from minigrad.testing import strategies as S

        return S.op_inputs(S.arrays())

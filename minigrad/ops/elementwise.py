"""Unary math: exp, log, sqrt, abs, clip, cast, sin, cos, erf, arctan, arcsin, arccos (and arctan2)."""
from __future__ import annotations

import numpy as np

from minigrad.ops.base import Context, Op, register, strategies


class _Unary(Op):
    """y = fn(x) with dx = dy * slope(x), or slope(y) when from_output; the strategy keeps x inside
    [low, high] (the open domain) and away from kinks."""

    fn = staticmethod(np.arctan)
    from_output = False
    low, high = -2.0, 2.0
    kinks: tuple[float, ...] = ()

    @staticmethod
    def slope(x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + x * x)

    def forward(self, ctx: Context, x: np.ndarray) -> np.ndarray:
        y = self.fn(x)
        ctx.save(y if self.from_output else x)
        return y

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy * self.slope(ctx.saved[0]),)

    def strategy(self):
        st, S = strategies()
        return S.op_inputs(S.kink_free_arrays(kinks=self.kinks, low=self.low, high=self.high))


@register("exp")
class Exp(_Unary):
    """y = exp(x); dx = y dy."""

    fn, slope, from_output = staticmethod(np.exp), staticmethod(lambda y: y), True


@register("log")
class Log(_Unary):
    """y = ln(x); dx = dy / x."""

    fn, slope = staticmethod(np.log), staticmethod(np.reciprocal)
    low, high = 0.2, 3.0


@register("sqrt")
class Sqrt(_Unary):
    """y = sqrt(x); dx = dy / (2 y)."""

    fn, slope, from_output = staticmethod(np.sqrt), staticmethod(lambda y: 0.5 / y), True
    low, high = 0.2, 3.0


@register("abs")
class Abs(_Unary):
    """y = |x|; dx = sign(x) dy (0 at x = 0)."""

    fn, slope, kinks = staticmethod(np.abs), staticmethod(np.sign), (0.0,)


@register("sin")
class Sin(_Unary):
    """y = sin(x); dx = cos(x) dy."""

    fn, slope = staticmethod(np.sin), staticmethod(np.cos)


@register("cos")
class Cos(_Unary):
    """y = cos(x); dx = -sin(x) dy."""

    fn, slope = staticmethod(np.cos), staticmethod(lambda x: -np.sin(x))


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # scipy.special costs import time: loaded on first use

    return erf(x)


@register("erf")
class Erf(_Unary):
    """y = erf(x); dx = 2 / sqrt(pi) exp(-x^2) dy."""

    fn, slope = staticmethod(_erf), staticmethod(lambda x: (2.0 / np.sqrt(np.pi)) * np.exp(-x * x))


@register("arctan")
class Arctan(_Unary):
    """y = arctan(x); dx = dy / (1 + x^2)."""


@register("arcsin")
class Arcsin(_Unary):
    """y = arcsin(x) for |x| <= 1; dx = dy / sqrt(1 - x^2)."""

    fn, slope = staticmethod(np.arcsin), staticmethod(lambda x: 1.0 / np.sqrt(1.0 - x * x))
    low, high = -0.9, 0.9


@register("arccos")
class Arccos(_Unary):
    """y = arccos(x) for |x| <= 1; dx = -dy / sqrt(1 - x^2)."""

    fn, slope = staticmethod(np.arccos), staticmethod(lambda x: -1.0 / np.sqrt(1.0 - x * x))
    low, high = -0.9, 0.9


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
        st, S = strategies()
        return S.op_inputs(S.kink_free_arrays(kinks=(-0.5, 0.7)), low=-0.5, high=0.7)


@register("cast")
class Cast(Op):
    """y = x as dtype; the gradient is cast back to x's dtype."""

    def check(self, x: np.ndarray, *, dtype: np.dtype) -> np.dtype:
        if np.dtype(dtype).kind not in "fiub" or np.dtype(dtype) == np.float16:
            raise TypeError(f"cast: unsupported target dtype {dtype}")
        return x.dtype  # the gradient's dtype

    def forward(self, ctx: Context, x: np.ndarray, *, dtype: np.dtype) -> np.ndarray:
        return x.astype(dtype)

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy.astype(ctx.plan),)

    def strategy(self):
        st, S = strategies()
        return S.op_inputs(S.arrays(), dtype=np.dtype(np.float64))


@register("arctan2")
class Arctan2(Op):
    """y = atan2(a, b), the angle of (b, a); da = dy b / (a^2 + b^2), db = -dy a / (a^2 + b^2)."""

    broadcasts = True

    def forward(self, ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save(a, b)
        return np.arctan2(a, b)

    def backward(self, ctx: Context, dy: np.ndarray):
        a, b = ctx.saved
        r2 = a * a + b * b
        need_a, need_b = ctx.needs_input_grad
        return (dy * b / r2 if need_a else None), (-dy * a / r2 if need_b else None)

    def strategy(self):
        st, S = strategies()
        # away from the origin (no slope) and from the branch cut b < 0, a = 0
        return S.broadcastable_shapes().flatmap(lambda s: S.op_inputs(S.arrays(s[0]), S.positive_arrays(s[1])))

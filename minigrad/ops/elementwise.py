"""Unary math: exp, log, sqrt, abs, clip, cast, sin, cos, erf, arctan, arcsin, arccos (and arctan2)."""
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


class _Unary(Op):
    """y = fn(x) with dx = dy * slope(x); the strategy keeps x inside the open domain."""

    fn = staticmethod(np.arctan)
    low, high = -2.0, 2.0

    @staticmethod
    def slope(x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + x * x)

    def forward(self, ctx: Context, x: np.ndarray) -> np.ndarray:
        ctx.save(x)
        return self.fn(x)

    def backward(self, ctx: Context, dy: np.ndarray):
        return (dy * self.slope(ctx.saved[0]),)

    def strategy(self):
        from minigrad.testing import strategies as S

        return S.op_inputs(S.arrays(low=self.low, high=self.high))


@register("arctan")
class Arctan(_Unary):
    """y = arctan(x); dx = dy / (1 + x^2)."""


@register("arcsin")
class Arcsin(_Unary):
    """y = arcsin(x) for |x| <= 1; dx = dy / sqrt(1 - x^2)."""

    fn = staticmethod(np.arcsin)
    low, high = -0.9, 0.9

    @staticmethod
    def slope(x: np.ndarray) -> np.ndarray:
        return 1.0 / np.sqrt(1.0 - x * x)


@register("arccos")
class Arccos(_Unary):
    """y = arccos(x) for |x| <= 1; dx = -dy / sqrt(1 - x^2)."""

    fn = staticmethod(np.arccos)
    low, high = -0.9, 0.9

    @staticmethod
    def slope(x: np.ndarray) -> np.ndarray:
        return -1.0 / np.sqrt(1.0 - x * x)


@register("arctan2")
class Arctan2(Op):
    """y = atan2(a, b), the angle of (b, a); da = dy b / (a^2 + b^2), db = -dy a / (a^2 + b^2)."""

    def forward(self, ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save(a, b)
        return np.arctan2(a, b)

    def backward(self, ctx: Context, dy: np.ndarray):
        a, b = ctx.saved
        r2 = a * a + b * b
        need_a, need_b = ctx.needs_input_grad
        return (dy * b / r2 if need_a else None), (-dy * a / r2 if need_b else None)

    def strategy(self):
        from minigrad.testing import strategies as S

        # away from the origin (no slope) and from the branch cut b < 0, a = 0
        return S.broadcastable_shapes().flatmap(lambda s: S.op_inputs(S.arrays(s[0]), S.positive_arrays(s[1])))

"""Broadcasting arithmetic: add, subtract, multiply, divide, power, negative, maximum, minimum, where."""
from __future__ import annotations

import numpy as np

from minigrad.ops.base import Context, Op, register, strategies


class _Binary(Op):
    """Two inputs that broadcast together (numpy's rule, checked by apply)."""

    broadcasts = True

    def strategy(self):
        st, S = strategies()
        return S.broadcastable_shapes().flatmap(lambda shapes: S.op_inputs(*(S.arrays(s) for s in shapes)))


@register("add")
class Add(_Binary):
    """y = a + b (broadcasting)."""

    def forward(self, ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.add(a, b)

    def backward(self, ctx: Context, dy: np.ndarray):
        return dy, dy


@register("subtract")
class Subtract(_Binary):
    """y = a - b (broadcasting)."""

    def forward(self, ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.subtract(a, b)

    def backward(self, ctx: Context, dy: np.ndarray):
        return dy, (np.negative(dy) if ctx.needs_input_grad[1] else None)


@register("multiply")
class Multiply(_Binary):
    """y = a * b (broadcasting); da = dy * b, db = dy * a."""

    def forward(self, ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save(a, b)
        return np.multiply(a, b)

    def backward(self, ctx: Context, dy: np.ndarray):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        return (dy * b if need_a else None), (dy * a if need_b else None)


@register("divide")
class Divide(_Binary):
    """y = a / b; da = dy / b, db = -dy * a / b**2."""

    def forward(self, ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save(a, b)
        return np.true_divide(a, b)

    def backward(self, ctx: Context, dy: np.ndarray):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        da = dy / b if need_a else None
        db = -dy * a / (b * b) if need_b else None
        return da, db

    def strategy(self):
        st, S = strategies()
        return S.broadcastable_shapes().flatmap(
            lambda s: S.op_inputs(S.arrays(s[0]), S.positive_arrays(s[1]))
        )


@register("power")
class Power(_Binary):
    """y = a ** b; da = b a**(b-1) dy, db = a**b log(a) dy (a > 0 where b needs a gradient)."""

    def check(self, a: np.ndarray, b: np.ndarray) -> None:
        if a.dtype.kind in "biu" and b.dtype.kind in "iu" and b.size and b.min() < 0:
            raise ValueError(f"power: an integer base needs exponents >= 0 (numpy's rule), received an exponent "
                             f"of {b.min()}; cast the base to float")

    def forward(self, ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        y = np.power(a, b)
        ctx.save(a, b, y)
        return y

    def backward(self, ctx: Context, dy: np.ndarray):
        a, b, y = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        da = dy * b * np.power(a, b - 1) if need_a else None
        db = dy * y * np.log(a) if need_b else None
        return da, db

    def strategy(self):
        st, S = strategies()
        return S.broadcastable_shapes().flatmap(
            lambda s: S.op_inputs(S.positive_arrays(s[0], 0.3, 2.0), S.arrays(s[1], -2.0, 2.0))
        )


@register("negative")
class Negative(Op):
    """y = -x."""

    def forward(self, ctx: Context, x: np.ndarray) -> np.ndarray:
        return np.negative(x)

    def backward(self, ctx: Context, dy: np.ndarray):
        return (np.negative(dy),)

    def strategy(self):
        st, S = strategies()
        return S.op_inputs(S.arrays())


class _Extremum(_Binary):
    """Elementwise max/min of two arrays; ties send half the gradient to each side."""

    pick = staticmethod(np.maximum)

    def forward(self, ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        y = self.pick(a, b)
        ctx.save(a, b, y)
        return y

    def backward(self, ctx: Context, dy: np.ndarray):
        a, b, y = ctx.saved
        wa = (a == y).astype(dy.dtype)
        wb = (b == y).astype(dy.dtype)
        total = wa + wb  # 2 on ties
        need_a, need_b = ctx.needs_input_grad
        return (dy * wa / total if need_a else None), (dy * wb / total if need_b else None)

    def strategy(self):
        def apart(pair):
            (a, b), attrs = pair
            b = np.where(np.abs(a - b) < 1e-2, b + 0.05, b)  # finite differences fail on a tie
            return (a, b), attrs

        return super().strategy().map(apart)


@register("maximum")
class Maximum(_Extremum):
    """y = max(a, b) elementwise."""

    pick = staticmethod(np.maximum)


@register("minimum")
class Minimum(_Extremum):
    """y = min(a, b) elementwise."""

    pick = staticmethod(np.minimum)


@register("where")
class Where(_Binary):
    """y = a where cond else b; cond gets no gradient."""

    def check(self, cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
        if cond.dtype != np.bool_:
            raise TypeError(f"where: cond must be a bool array, received dtype {cond.dtype}")

    def forward(self, ctx: Context, cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save(cond)
        return np.where(cond, a, b)

    def backward(self, ctx: Context, dy: np.ndarray):
        (cond,) = ctx.saved
        _, need_a, need_b = ctx.needs_input_grad
        zero = np.zeros((), dy.dtype)
        return None, (np.where(cond, dy, zero) if need_a else None), (np.where(cond, zero, dy) if need_b else None)

    def strategy(self):
        from hypothesis.extra import numpy as hnp

        st, S = strategies()
        return S.shapes().flatmap(
            lambda s: S.op_inputs(hnp.arrays(np.bool_, s, elements=st.booleans()), S.arrays(s), S.arrays(s))
        )


class _Compare(Op):
    """Elementwise comparison returning a bool array; not differentiable (so no gradcheck strategy)."""

    differentiable = False
    broadcasts = True
    fn = staticmethod(np.equal)

    def forward(self, ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.fn(a, b)


@register("equal")
class Equal(_Compare):
    """a == b elementwise."""


@register("not_equal")
class NotEqual(_Compare):
    """a != b elementwise."""

    fn = staticmethod(np.not_equal)


@register("less")
class Less(_Compare):
    """a < b elementwise."""

    fn = staticmethod(np.less)


@register("less_equal")
class LessEqual(_Compare):
    """a <= b elementwise."""

    fn = staticmethod(np.less_equal)


@register("greater")
class Greater(_Compare):
    """a > b elementwise."""

    fn = staticmethod(np.greater)


@register("greater_equal")
class GreaterEqual(_Compare):
    """a >= b elementwise."""

    fn = staticmethod(np.greater_equal)

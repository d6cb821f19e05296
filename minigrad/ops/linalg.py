"""Linear algebra ops (matmul, einsum, inv, det, solve) and the keras.ops functions built on them."""
from __future__ import annotations

import numpy as np

from typing import Any, Sequence

from minigrad._ext._tensor import apply
from minigrad.errors import ShapeError
from minigrad.ops.arrays import moveaxis, reshape, transpose
from minigrad.ops.base import Context, Op, register, strategies
from minigrad.ops.core import as_tensor
from minigrad.ops.numeric import Axis, _axis, _constant
from minigrad.tensor import Tensor

__all__ = ["matmul", "tensordot", "dot", "einsum", "outer", "trace", "norm", "inv", "det", "solve"]


@register("matmul")
class MatMul(Op):
    """y = a @ b (batched, broadcasting batch axes; 1-D operands as in numpy)."""

    def check(self, a: np.ndarray, b: np.ndarray) -> None:
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: operands must have rank >= 1, received shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ShapeError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape}")
        _batch_shape(self.name, a.shape[:-2], b.shape[:-2], a, b)

    def forward(self, ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save(a, b)
        return np.matmul(a, b)

    def backward(self, ctx: Context, dy: np.ndarray):
        a, b = ctx.saved
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        dy2 = np.expand_dims(dy, -1) if b.ndim == 1 else dy  # b first: dy may be 0-d
        dy2 = np.expand_dims(dy2, -2) if a.ndim == 1 else dy2
        need_a, need_b = ctx.needs_input_grad
        da = db = None
        if need_a:
            da = np.matmul(dy2, np.swapaxes(b2, -1, -2))
            da = da.reshape(da.shape[:-2] + (a.shape[-1],)) if a.ndim == 1 else da
        if need_b:
            db = np.matmul(np.swapaxes(a2, -1, -2), dy2)
            if b.ndim == 1:
                db = db[..., 0]
        return da, db

    def strategy(self):
        st, S = strategies()

        def shapes(dims):
            batch, m, k, n, ra, rb = dims
            sa = (k,) if ra == 1 else batch + (m, k)
            sb = (k,) if rb == 1 else batch[len(batch) - 1:] + (k, n)
            return S.op_inputs(S.arrays(sa), S.arrays(sb))
        small = st.integers(1, 3)
        return st.tuples(st.lists(small, max_size=2).map(tuple), small, small, small,
                         st.sampled_from([1, 2]), st.sampled_from([1, 2])).flatmap(shapes)


def _batch_shape(op: str, sa: tuple[int, ...], sb: tuple[int, ...], a: np.ndarray, b: np.ndarray) -> tuple[int, ...]:
    """The broadcast batch shape of two stacks of matrices (numpy's rule)."""
    try:
        return np.broadcast_shapes(sa, sb)
    except ValueError:
        raise ShapeError(f"{op}: the batch axes {sa} and {sb} do not broadcast together (operands of shapes "
                         f"{a.shape} and {b.shape})") from None


def parse_einsum(equation: str, ndims: tuple[int, ...]) -> tuple[list[str], str]:
    """Operand and output subscripts of an einsum equation, '...' spelled out as capital letters and an
    implicit output (no '->') made explicit: the letters used once, sorted, as numpy does."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, received {equation!r}")
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: '{equation}' names {len(terms)} operands, received {len(ndims)}")
    explicit = [t.replace("...", "") for t in terms]
    if not all(c.isalpha() and c.islower() for t in explicit + [out.replace("...", "")] for c in t):
        raise ValueError(f"einsum: subscripts must be lower-case letters (and '...'), received '{equation}'")
    spare = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    width = max([n - len(e) for t, e, n in zip(terms, explicit, ndims) if "..." in t], default=0)
    spelled = []
    for t, e, n in zip(terms, explicit, ndims):
        if "..." in t:  # right-aligned, as numpy broadcasting aligns the ellipsis axes
            t = t.replace("...", spare[width - (n - len(e)):width])
        if len(t) != n:
            raise ValueError(f"einsum: subscripts '{t}' do not match an operand of rank {n} in '{equation}'")
        if len(set(t)) != len(t):
            raise ValueError(f"einsum: a repeated index within one operand ('{t}': a diagonal or trace) is not "
                             f"supported; use ops.trace or ops.diagonal")
        spelled.append(t)
    if arrow:
        out = out.replace("...", spare[:width])
    else:
        letters = "".join(spelled)
        out = spare[:width] + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c.islower()))
    return spelled, out


@register("einsum")
class Einsum(Op):
    """y = np.einsum(equation, *operands); d operand_i = einsum of dy with the other operands, broadcast
    over the indices only operand i carries."""

    def check(self, *operands: np.ndarray, equation: str) -> tuple[list[str], str]:
        terms, out = parse_einsum(equation, tuple(x.ndim for x in operands))
        sizes: dict[str, int] = {}
        for t, x in zip(terms, operands):
            for c, n in zip(t, x.shape):
                if sizes.setdefault(c, n) != n:
                    raise ShapeError(f"einsum: index '{c}' has size {sizes[c]} in one operand and {n} in another "
                                     f"('{equation}', shapes {[a.shape for a in operands]})")
        if len(set(out)) != len(out) or any(c not in sizes for c in out):
            raise ValueError(f"einsum: the output '{out}' must name distinct indices of the operands ('{equation}')")
        return terms, out

    def forward(self, ctx: Context, *operands: np.ndarray, equation: str) -> np.ndarray:
        terms, out = ctx.plan
        ctx.save(*operands)
        return np.asarray(np.einsum(f"{','.join(terms)}->{out}", *operands))

    def backward(self, ctx: Context, dy: np.ndarray):
        terms, out = ctx.plan
        grads = []
        for i, (term, x) in enumerate(zip(terms, ctx.saved)):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [t for j, t in enumerate(terms) if j != i]
            kept = "".join(c for c in term if c in out or any(c in t for t in others))
            g = np.einsum(f"{','.join([out] + others)}->{kept}", dy,
                          *[a for j, a in enumerate(ctx.saved) if j != i])
            shape = [n if c in kept else 1 for c, n in zip(term, x.shape)]  # kept keeps term's order
            grads.append(np.ascontiguousarray(np.broadcast_to(np.reshape(g, shape), x.shape)))
        return tuple(grads)

    def strategy(self):
        st, S = strategies()
        equations = ["ij,jk->ik", "bij,bjk->bik", "ij->j", "i,i->", "abc,cd->abd", "ij,ij->ij", "ij->ji",
                     "...ij,jk->...ik", "ij,jk", "abcd,cde->abe"]

        def build(args):
            equation, sizes = args
            terms = equation.replace("...", "Z").split("->")[0].split(",")
            size = dict(zip("abcdeijkZ", sizes))
            return S.op_inputs(*(S.arrays(tuple(size[c] for c in t)) for t in terms), equation=equation)

        return st.tuples(st.sampled_from(equations), st.lists(st.integers(1, 3), min_size=9, max_size=9)).flatmap(build)


def _square(op: str, a: np.ndarray) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{op}: expected (..., n, n) square matrices, received shape {a.shape}")


def _solved(op: str, fn: Any, *arrays: np.ndarray) -> np.ndarray:
    """fn(*arrays), a singular matrix reported naming op (the values decide it: no check can know)."""
    try:
        return fn(*arrays)
    except np.linalg.LinAlgError as e:
        raise ValueError(f"{op}: {e} (a matrix of the input has no inverse)") from None


def _mT(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def _well_conditioned(shape: tuple[int, ...]):
    """Matrices kept far from singular (strictly diagonally dominant): entries in [-0.5, 0.5] plus
    n + 1 on the diagonal."""
    st, S = strategies()
    n = shape[-1]
    return S.arrays(shape, -0.5, 0.5).map(lambda a: a + (n + 1) * np.eye(n))


def _square_strategy():
    st, S = strategies()
    return st.tuples(st.lists(st.integers(1, 2), max_size=1).map(tuple), st.integers(1, 3)).map(
        lambda bn: bn[0] + (bn[1], bn[1]))


@register("inv")
class Inv(Op):
    """y = a^-1 per matrix; da = -y^T dy y^T."""

    def check(self, a: np.ndarray) -> None:
        _square(self.name, a)

    def forward(self, ctx: Context, a: np.ndarray) -> np.ndarray:
        y = _solved(self.name, np.linalg.inv, a)
        ctx.save(y)
        return y

    def backward(self, ctx: Context, dy: np.ndarray):
        (y,) = ctx.saved
        return (-_mT(y) @ dy @ _mT(y),)

    def strategy(self):
        st, S = strategies()
        return _square_strategy().flatmap(lambda s: S.op_inputs(_well_conditioned(s)))


@register("det")
class Det(Op):
    """y = det(a) per matrix; da = dy * y * a^-T."""

    def check(self, a: np.ndarray) -> None:
        _square(self.name, a)

    def forward(self, ctx: Context, a: np.ndarray) -> np.ndarray:
        y = np.linalg.det(a)
        ctx.save(a, y)
        return np.asarray(y)

    def backward(self, ctx: Context, dy: np.ndarray):
        a, y = ctx.saved
        return ((dy * y)[..., None, None] * _mT(np.linalg.inv(a)),)

    def strategy(self):
        st, S = strategies()
        return _square_strategy().flatmap(lambda s: S.op_inputs(_well_conditioned(s)))


@register("solve")
class Solve(Op):
    """x = a^-1 b for b of shape (..., n, k); db = a^-T dx, da = -db x^T."""

    def check(self, a: np.ndarray, b: np.ndarray) -> None:
        _square(self.name, a)
        if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
            raise ShapeError(f"solve: expected b of shape (..., {a.shape[-1]}, k) for a of shape {a.shape}, "
                             f"received {b.shape}")
        _batch_shape(self.name, a.shape[:-2], b.shape[:-2], a, b)

    def forward(self, ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        x = _solved(self.name, np.linalg.solve, a, b)
        ctx.save(a, x)
        return x

    def backward(self, ctx: Context, dx: np.ndarray):
        a, x = ctx.saved
        db = np.linalg.solve(_mT(a), dx)
        return (-db @ _mT(x) if ctx.needs_input_grad[0] else None), db

    def strategy(self):
        st, S = strategies()
        return st.tuples(_square_strategy(), st.integers(1, 2)).flatmap(lambda sk: S.op_inputs(
            _well_conditioned(sk[0]), S.arrays(sk[0][:-1] + (sk[1],))))


# ----- keras.ops functions built on matmul and einsum
def matmul(x1: Any, x2: Any) -> Tensor:
    """x1 @ x2 (batched; 1-D operands as in numpy)."""
    return apply("matmul", x1, x2)


def tensordot(x1: Any, x2: Any, axes: int | Sequence = 2) -> Tensor:
    """Sum of products over the given axes of x1 and x2 (numpy.tensordot), as one matmul."""
    a, b = as_tensor(x1), as_tensor(x2)
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        axes_a, axes_b = ([axes[0]] if isinstance(axes[0], int) else list(axes[0]),
                          [axes[1]] if isinstance(axes[1], int) else list(axes[1]))
    axes_a, axes_b = [ax % max(a.ndim, 1) for ax in axes_a], [ax % max(b.ndim, 1) for ax in axes_b]
    if [a.shape[i] for i in axes_a] != [b.shape[i] for i in axes_b]:
        raise ShapeError(f"tensordot: axes {axes_a} of {a.shape} and {axes_b} of {b.shape} differ in size")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    k = int(np.prod([a.shape[i] for i in axes_a]))
    a2 = reshape(transpose(a, free_a + axes_a), (-1, k))
    b2 = reshape(transpose(b, axes_b + free_b), (k, -1))
    return reshape(apply("matmul", a2, b2), tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))


def dot(x1: Any, x2: Any) -> Tensor:
    """numpy.dot: a product for scalars, matmul for 1-D/2-D, else the last axis of x1 with the
    second-to-last of x2."""
    a, b = as_tensor(x1), as_tensor(x2)
    if a.ndim == 0 or b.ndim == 0:
        return apply("multiply", a, b)
    if b.ndim <= 2 and a.ndim <= 2:
        return apply("matmul", a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 2 if b.ndim > 1 else 0]))


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Einstein summation ('ij,jk->ik', '...' allowed; no index repeated within one operand)."""
    return apply("einsum", *operands, equation=subscripts)


def inv(x: Any) -> Tensor:
    """The inverse of each (..., n, n) matrix."""
    return apply("inv", x)


def det(x: Any) -> Tensor:
    """The determinant of each (..., n, n) matrix."""
    return apply("det", x)


def solve(a: Any, b: Any) -> Tensor:
    """x with a x = b, for b of shape (..., n, k) or a vector (..., n)."""
    a, b = as_tensor(a), as_tensor(b)
    if b.ndim == a.ndim - 1:  # a vector right-hand side, as numpy.linalg.solve
        return reshape(apply("solve", a, reshape(b, b.shape + (1,))), b.shape)
    return apply("solve", a, b)


def outer(x1: Any, x2: Any) -> Tensor:
    """x1 (flattened) as a column times x2 (flattened) as a row."""
    return apply("multiply", reshape(x1, (-1, 1)), reshape(x2, (1, -1)))


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """Sum of the diagonal of x over axis1/axis2."""
    x = as_tensor(x)
    mask = np.eye(x.shape[axis1], x.shape[axis2], k=offset, dtype=x.dtype)
    moved = moveaxis(x, (axis1, axis2), (-2, -1))
    return apply("sum", apply("multiply", moved, mask), axis=(-2, -1))


def _vector_norm(x: Tensor, ord: Any, axis: Any, keepdims: bool) -> Tensor:
    a = apply("abs", x)
    if ord is None or ord == 2:
        return apply("sqrt", apply("sum", apply("multiply", x, x), axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return apply("max", a, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return apply("min", a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return _constant(np.sum(x.data != 0, axis=axis, keepdims=keepdims).astype(x.dtype))
    if ord == 1:
        return apply("sum", a, axis=axis, keepdims=keepdims)
    p = float(ord)
    return apply("power", apply("sum", apply("power", a, p), axis=axis, keepdims=keepdims), 1.0 / p)


def _matrix_norm(x: Tensor, ord: Any, axis: tuple[int, int], keepdims: bool) -> Tensor:
    if ord in (None, "fro"):
        return apply("sqrt", apply("sum", apply("multiply", x, x), axis=axis, keepdims=keepdims))
    if ord in (1, -1, np.inf, -np.inf):  # max/min absolute column (ord +-1) or row (ord +-inf) sum
        rows, cols = axis
        summed, pick = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = apply("sum", apply("abs", x), axis=summed, keepdims=True)
        y = apply("max" if ord in (1, np.inf) else "min", sums, axis=pick, keepdims=True)
        return y if keepdims else apply("reshape", y, shape=tuple(
            n for i, n in enumerate(x.shape) if i not in (rows % x.ndim, cols % x.ndim)))
    raise ValueError(f"norm: matrix ord={ord!r} needs singular values, which minigrad does not compute; "
                     f"supported: None, 'fro', 1, -1, inf, -inf")


def norm(x: Any, ord: Any = None, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A002
    """Vector or matrix norm (numpy.linalg.norm's rules for ord and axis)."""
    x = as_tensor(x)
    if axis is None and ord is not None and x.ndim == 2:
        axis = (0, 1)
    if axis is None:
        return _vector_norm(x, ord, None, keepdims)
    axes = _axis(axis)
    if isinstance(axes, tuple) and len(axes) == 2:
        return _matrix_norm(x, ord, axes, keepdims)
    if isinstance(axes, tuple) and len(axes) != 1:
        raise ValueError(f"norm: axis must be an int or a pair of ints, received {axis!r}")
    return _vector_norm(x, ord, axes[0] if isinstance(axes, tuple) else axes, keepdims)

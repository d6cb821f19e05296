"""Linear algebra: matmul (batched, broadcasting); dot and tensordot compose it in ops.numpy."""
from __future__ import annotations

import numpy as np

from minigrad.errors import ShapeError
from minigrad.ops.base import Context, Op, register


@register("matmul")
class MatMul(Op):
    """y = a @ b (batched, broadcasting batch axes; 1-D operands as in numpy)."""

    def check(self, a: np.ndarray, b: np.ndarray) -> None:
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: operands must have rank >= 1, received shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ShapeError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape}")

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
        from hypothesis import strategies as st

        from minigrad.testing import strategies as S

        def shapes(dims):
            batch, m, k, n, ra, rb = dims
            sa = (k,) if ra == 1 else batch + (m, k)
            sb = (k,) if rb == 1 else batch[len(batch) - 1:] + (k, n)
            return S.op_inputs(S.arrays(sa), S.arrays(sb))
        small = st.integers(1, 3)
        return st.tuples(st.lists(small, max_size=2).map(tuple), small, small, small,
                         st.sampled_from([1, 2]), st.sampled_from([1, 2])).flatmap(shapes)

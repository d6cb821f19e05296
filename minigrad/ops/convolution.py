"""Convolution ops (Keras semantics, cross-correlation): conv2d and conv1d over minigrad.kernels.

Unlike Keras, strides > 1 together with dilation > 1 are allowed (as in PyTorch): the window of
output pixel o starts at o * stride and its taps are dilation apart.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import kernels
from minigrad.errors import ShapeError
from minigrad.kernels.conv import Padding, conv1d_plan, conv2d_plan
from minigrad.kernels.conv_plan import ConvPlan
from minigrad.ops.base import Context, Op, register, strategies, twin


class _Conv(Op):
    """Shared check/forward/backward; subclasses name the kernels and the input rank."""

    rank = 2
    plan_kernel = staticmethod(conv2d_plan)
    forward_kernel = staticmethod(kernels.conv2d_forward)
    backward_kernel = staticmethod(kernels.conv2d_backward)
    relu_backward_kernel = staticmethod(kernels.relu_backward)  # the fused activation's

    def check(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
              strides: Any = 1, padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
              data_format: str = "channels_last", activation: str | None = None) -> ConvPlan:
        # the plan validates everything (its errors name the op) before a node is recorded;
        # the kernels of forward and backward find this same plan in the plan cache
        if x.ndim != self.rank + 2:
            raise ShapeError(f"{self.name}: expected x of rank {self.rank + 2}, received shape {x.shape}")
        try:
            return self.plan_kernel(x, w, b, strides=strides, padding=padding, dilation=dilation,
                                    groups=groups, data_format=data_format, activation=activation)
        except ValueError as e:
            raise ShapeError(str(e)) from None

    def forward(self, ctx: Context, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                **attrs: Any) -> np.ndarray:
        y = self.forward_kernel(x, w, b, **attrs)
        ctx.save(x, w, y if attrs.get("activation") == "relu" else None)
        return y

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x, w, y = ctx.saved
        attrs = dict(ctx.attrs)
        if attrs.pop("activation", None) == "relu":  # y > 0 exactly where the pre-activation is
            dy = self.relu_backward_kernel(np.ascontiguousarray(dy, x.dtype), y)
        needs = ctx.needs_input_grad
        dx, dw, db = self.backward_kernel(
            np.ascontiguousarray(dy, x.dtype), x, w, **attrs, need_dx=needs[0],
            need_dw=needs[1], need_db=len(needs) > 2 and needs[2])
        return (dx, dw, db)[:len(needs)]

    def strategy(self):
        from hypothesis import assume
        st, S = strategies()

        @st.composite
        def inputs(draw):
            groups = draw(st.sampled_from([1, 2]))
            fmt = draw(st.sampled_from(["channels_last", "channels_first"]))
            cg, fg, n = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
            kernel = tuple(draw(st.integers(1, 3)) for _ in range(self.rank))
            if self.rank == 2 and groups == 1 and draw(st.integers(0, 2)) == 0:
                cg, fg, kernel = 8, 8, (3, 3)  # whole float64 vectors, 72 taps: the implicit GEMM
            dilation = draw(st.integers(1, 2))
            # large enough for the dilated kernel even with 'valid' padding
            size = tuple(dilation * (k - 1) + 1 + draw(st.integers(0, 3)) for k in kernel)
            c = groups * cg
            x_shape = (n, *size, c) if fmt == "channels_last" else (n, c, *size)
            arrays = [draw(S.arrays(x_shape)), draw(S.arrays((*kernel, cg, groups * fg)))]
            if draw(st.booleans()):
                arrays.append(draw(S.arrays((groups * fg,))))
            attrs = dict(strides=draw(st.integers(1, 2)), padding=draw(st.sampled_from(
                ["valid", "same", 1])), dilation=dilation, groups=groups, data_format=fmt)
            if draw(st.booleans()):
                # fused relu: keep every pre-activation off the kink, where differences lie
                attrs["activation"] = "relu"
                assume(np.abs(self.reference(*arrays, **{**attrs, "activation": None})).min() > 1e-3)
            return tuple(arrays), attrs

        return inputs()

    def reference(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None,
                  **attrs: Any) -> np.ndarray:
        return twin(self.forward_kernel)(x, w, b, **attrs)


@register("conv2d")
class Conv2D(_Conv):
    """y[n, oh, ow, f] = b[f] + sum_{i, j, c} x[n, oh*sh + i*dh - pt, ow*sw + j*dw - pl, c] w[i, j, c, f]."""


@register("conv1d")
class Conv1D(_Conv):
    """y[n, t, f] = b[f] + sum_{k, c} x[n, t*s + k*d - pl, c] w[k, c, f] (conv2d with H = 1)."""

    rank = 1
    plan_kernel = staticmethod(conv1d_plan)
    forward_kernel = staticmethod(kernels.conv1d_forward)
    backward_kernel = staticmethod(kernels.conv1d_backward)

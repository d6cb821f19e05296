"""Transposed convolution ops (Keras' Conv2DTranspose / Conv1DTranspose): the conv's input gradient.

With C the convolution y -> conv(y, w), the transposed conv of x is C^T x: forward is the conv
kernels' dx path, its input gradient is the conv itself and its kernel gradient is the conv's dw
with the roles of x and dy exchanged. Only the public wrappers of minigrad.kernels are called.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import kernels
from minigrad.errors import ShapeError
from minigrad.kernels.conv import conv1d_plan, conv2d_plan
from minigrad.ops.base import Context, Op, register, strategies


def _ints(op: str, name: str, value: Any, rank: int, minimum: int) -> tuple[int, ...]:
    vals = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    if len(vals) != rank or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        raise TypeError(f"{op}: {name} must be an int or {rank} ints, received {value!r}")
    if min(vals) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, received {value!r}")
    return tuple(int(v) for v in vals)


def transpose_output_length(length: int | None, kernel: int, padding: str, output_padding: int | None,
                            stride: int, dilation: int = 1) -> int | None:
    """Keras' deconv_output_length: the spatial size a transposed conv produces from `length`."""
    if length is None:
        return None
    k = kernel + (kernel - 1) * (dilation - 1)
    if output_padding is None:
        return length * stride + max(k - stride, 0) if padding == "valid" else length * stride
    pad = k // 2 if padding == "same" else 0
    return (length - 1) * stride + k - 2 * pad + output_padding


class _ConvTranspose(Op):
    """x (N, *spatial, C_in) with w (*k, F, C_in) [+ b (F,)] -> (N, *out, F) (or channels_first)."""

    rank = 2
    conv_plan = staticmethod(conv2d_plan)  # the conv this op transposes
    conv_forward = staticmethod(kernels.conv2d_forward)
    conv_backward = staticmethod(kernels.conv2d_backward)

    def _geometry(self, x: np.ndarray, w: np.ndarray, strides: Any, padding: str, output_padding: Any,
                  dilation: Any, data_format: str) -> tuple[tuple[int, ...], tuple, tuple]:
        op, r = self.name, self.rank
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first', received {data_format!r}")
        if padding not in ("valid", "same"):
            raise ValueError(f"{op}: padding must be 'valid' or 'same', received {padding!r}")
        if x.ndim != r + 2 or w.ndim != r + 2:
            raise ShapeError(f"{op}: expected x of rank {r + 2} and kernel of rank {r + 2} (*kernel_size, "
                             f"filters, in_channels), received shapes {x.shape} and {w.shape}")
        channels = x.shape[-1] if data_format == "channels_last" else x.shape[1]
        if w.shape[-1] != channels:
            raise ShapeError(f"{op}: the kernel's last axis ({w.shape[-1]}) must equal the input channels "
                             f"({channels}); kernel shape {w.shape}, input shape {x.shape} ({data_format})")
        s, d = _ints(op, "strides", strides, r, 1), _ints(op, "dilation", dilation, r, 1)
        pads = None if output_padding is None else _ints(op, "output_padding", output_padding, r, 0)
        if pads is not None and any(p >= st for p, st in zip(pads, s)):
            raise ValueError(f"{op}: output_padding {pads} must be smaller than strides {s}")
        spatial = x.shape[1:-1] if data_format == "channels_last" else x.shape[2:]
        out = []
        for i, (n, k) in enumerate(zip(spatial, w.shape[:r])):
            length = transpose_output_length(n, k, padding, None if pads is None else pads[i], s[i], d[i])
            # the forward conv of the output must land back on the input size
            back = -(-length // s[i]) if padding == "same" else (length - d[i] * (k - 1) - 1) // s[i] + 1
            if length < 1 or back != n:
                raise ShapeError(f"{op}: no output size maps back onto input size {n} along spatial axis {i} "
                                 f"(kernel {k}, stride {s[i]}, dilation {d[i]}, padding '{padding}', "
                                 f"output_padding {None if pads is None else pads[i]})")
            out.append(length)
        shape = (x.shape[0], *out, w.shape[-2]) if data_format == "channels_last" else (x.shape[0], w.shape[-2], *out)
        return shape, s, d

    def _conv_attrs(self, s: tuple, d: tuple, padding: str, data_format: str) -> dict[str, Any]:
        one = (lambda v: v) if self.rank == 2 else (lambda v: v[0])
        return {"strides": one(s), "padding": padding, "dilation": one(d), "data_format": data_format}

    def check(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *, strides: Any = 1,
              padding: str = "valid", output_padding: Any = None, dilation: Any = 1,
              data_format: str = "channels_last") -> tuple[tuple[int, ...], dict[str, Any]]:
        """(output shape, the transposed conv's attrs)."""
        shape, s, d = self._geometry(x, w, strides, padding, output_padding, dilation, data_format)
        if b is not None and b.shape != (shape[-1 if data_format == "channels_last" else 1],):
            raise ShapeError(f"{self.name}: expected bias of shape ({w.shape[-2]},), received {b.shape}")
        if x.dtype != w.dtype or x.dtype.kind != "f":
            raise TypeError(f"{self.name}: expected float inputs and kernel of one dtype, received "
                            f"{x.dtype} and {w.dtype}")
        conv = self._conv_attrs(s, d, padding, data_format)
        try:  # the conv's own plan, on a zero-stride stand-in of the output: its limits hold here too
            self.conv_plan(np.broadcast_to(np.zeros((), x.dtype), shape), w, **conv)
        except ValueError as e:
            raise ShapeError(f"{self.name}: {e}") from None
        return shape, conv

    def forward(self, ctx: Context, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, *,
                strides: Any = 1, padding: str = "valid", output_padding: Any = None, dilation: Any = 1,
                data_format: str = "channels_last") -> np.ndarray:
        shape, conv = ctx.plan
        ctx.save(x, w)
        stand_in = np.zeros(shape, x.dtype)  # only its shape is read: the conv's input geometry
        y, _, _ = self.conv_backward(np.ascontiguousarray(x), stand_in, np.ascontiguousarray(w), **conv,
                                     need_dx=True, need_dw=False, need_db=False)
        if b is not None:
            y += b if data_format == "channels_last" else b.reshape((-1,) + (1,) * self.rank)
        return y

    def backward(self, ctx: Context, dy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x, w = ctx.saved
        conv = ctx.plan[1]
        needs = ctx.needs_input_grad
        dy = np.ascontiguousarray(dy, x.dtype)
        dx = self.conv_forward(dy, np.ascontiguousarray(w), **conv) if needs[0] else None
        dw = None
        if needs[1]:  # the conv's kernel gradient with its input dy and its output gradient x
            _, dw, _ = self.conv_backward(np.ascontiguousarray(x), dy, np.ascontiguousarray(w), **conv,
                                          need_dx=False, need_dw=True, need_db=False)
        channel_axis = -1 if conv["data_format"] == "channels_last" else 1
        db = dy.sum(axis=tuple(a for a in range(dy.ndim) if a != channel_axis % dy.ndim)) \
            if len(needs) > 2 and needs[2] else None
        return (dx, dw, db)[:len(needs)]

    def strategy(self):
        st, S = strategies()

        @st.composite
        def inputs(draw):
            r = self.rank
            fmt = draw(st.sampled_from(["channels_last", "channels_first"]))
            n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
            kernel = tuple(draw(st.integers(1, 3)) for _ in range(r))
            strides = draw(st.integers(1, 3))
            padding = draw(st.sampled_from(["valid", "same"]))
            out_pad = draw(st.one_of(st.none(), st.integers(0, strides - 1)))
            dilation = 1 if strides > 1 else draw(st.integers(1, 2))
            size = tuple(draw(st.integers(1, 3)) for _ in range(r))
            x_shape = (n, *size, c) if fmt == "channels_last" else (n, c, *size)
            arrays = [draw(S.arrays(x_shape)), draw(S.arrays((*kernel, f, c)))]
            if draw(st.booleans()):
                arrays.append(draw(S.arrays((f,))))
            attrs = dict(strides=strides, padding=padding, output_padding=out_pad, dilation=dilation,
                         data_format=fmt)
            try:  # even kernels with 'same' and an explicit output_padding have no valid geometry
                self._geometry(arrays[0], arrays[1], strides, padding, out_pad, dilation, fmt)
            except ValueError:
                attrs["output_padding"] = None
            return tuple(arrays), attrs

        return inputs()


@register("conv2d_transpose")
class Conv2DTranspose(_ConvTranspose):
    """y = C^T x for the conv C of kernel w (kh, kw, F, C_in); output size by Keras' deconv formula."""


@register("conv1d_transpose")
class Conv1DTranspose(_ConvTranspose):
    """y = C^T x for the 1-D conv C of kernel w (k, F, C_in)."""

    rank = 1
    conv_plan = staticmethod(conv1d_plan)
    conv_forward = staticmethod(kernels.conv1d_forward)
    conv_backward = staticmethod(kernels.conv1d_backward)

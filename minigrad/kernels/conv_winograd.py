"""The Python side of the Winograd F(4x4, 3x3) conv path (kernels in minigrad/_ext/conv_winograd.h):
which plans it can serve, its tile geometry and scratch, and its weight transforms.

U = G w G^T per (channel, filter) turns a 3x3 kernel into 6x6 (Lavin & Gray 2016, points 0, +-1,
+-2, infinity); the weight gradient comes back as dU and becomes dw = G^T dU G; the input gradient
is a Winograd forward over dy with w turned 180 degrees, channels and filters swapped (the dual
plan). Results differ from the other paths by rounding (the transforms hold sixths and 24ths):
within 1e-5 of the output's scale in float32, 1e-12 in float64 (tests/kernels/test_conv_geometry).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from minigrad._ext import _conv

if TYPE_CHECKING:
    from minigrad.kernels.conv_plan import ConvPlan

ELEMENTS = _conv.WINOGRAD_ELEMENTS  # of a transformed 6x6 tile: the GEMMs per pass (36)
# V and M of one pass stay in a core's L2 (1 MiB here) beside U: a whole chunk's input-gradient
# tiles (1.5 MB) went to L3 between its transforms and its GEMMs
_PASS_BYTES = 384 * 1024
G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])


def why_not(p: ConvPlan, direction: str) -> str:
    """Why the Winograd path cannot serve p in `direction`; '' when it can."""
    lanes = _conv.lanes(p.dtype.itemsize)
    c, f = p.in_shape[3], p.out_shape[3]
    if (p.groups != 1 or p.w_shape[:2] != (3, 3) or p.kernel_strides() != (1, 1)
            or p.kernel_dilation() != (1, 1) or c % lanes or f % lanes):
        return (f"needs a 3x3 kernel, stride 1, dilation 1, one group and C, F multiples of "
                f"{lanes} ({_conv.isa()} vectors)")
    if direction == "input_grad" and max(p.pads) > 2:
        return f"the input gradient needs padding of at most 2, received {p.pads}"
    return ""


def tiles(p: ConvPlan, dual: bool = False) -> tuple[int, int]:
    """4x4 tiles per image, down and across: of the output, or of the input (dual)."""
    _, h, w, _ = p.in_shape if dual else p.out_shape
    return -(-h // 4), -(-w // 4)


def images(p: ConvPlan, dual: bool = False) -> int:
    """Images per Winograd pass: as many as keep their V and M within _PASS_BYTES (in L2 between
    the transforms and the GEMMs), at least one, at most a chunk."""
    th, tw = tiles(p, dual)
    per_image = ELEMENTS * th * tw * (p.in_shape[3] + p.out_shape[3]) * p.dtype.itemsize
    return max(1, min(p.chunk, _PASS_BYTES // per_image))


def slot(p: ConvPlan, direction: str) -> int:
    """Scratch elements per thread: V and M of a pass's tiles, a transform's first pass and the
    zeros that pixels outside the input read (conv_winograd.h)."""
    dual = direction == "input_grad"
    th, tw = tiles(p, dual)
    c, f = p.in_shape[3], p.out_shape[3]
    return ELEMENTS * images(p, dual) * th * tw * (c + f) + _conv.WINOGRAD_SCRATCH + max(c, f)


def geometry(p: ConvPlan, dual: bool = False) -> dict[str, int]:
    """The Winograd fields of a _conv.Plan."""
    th, tw = tiles(p, dual)
    return dict(tiles_h=th, tiles_w=tw, wino_images=images(p, dual))


def dual_plan(p: ConvPlan) -> _conv.Plan:
    """The input gradient's geometry as a stride-1 3x3 forward over dy: dx = dy (padded by
    2 - pad on each side) correlated with w turned 180 degrees, channels and filters swapped."""
    (n, h, wd, c), (_, oh, ow, f) = p.in_shape, p.out_shape
    top, bottom, left, right = (2 - pad for pad in p.pads)
    path = _conv.PATHS.index("winograd")
    return _conv.Plan(
        N=n, H=oh, W=ow, C=f, KH=3, KW=3, Cg=f, F=c, OH=h, OW=wd, stride_h=1, stride_w=1,
        dilation_h=1, dilation_w=1, pad_top=top, pad_bottom=bottom, pad_left=left,
        pad_right=right, groups=1, Fg=c, Kg=9 * f, xp_h=oh, xp_w=ow, padded=0, **geometry(p, True),
        chunk=p.chunk, n_chunks=p.n_chunks, n_threads=p.n_threads,
        slot_forward=slot(p, "input_grad"), slot_backward=0, partials=ELEMENTS * f * c + c,
        path_forward=path, path_input_grad=path, path_weight_grad=path)


def weights(w: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """w (3, 3, C, F) as the kernel reads it: U = G w G^T, [36][C][F] (flattened)."""
    g = G.astype(dtype)
    gw = (g @ w.reshape(3, -1)).reshape(6, 3, -1)  # G w over kernel rows (one einsum: 10x slower)
    return np.einsum("ajk,bj->abk", gw, g).ravel()


def input_grad_weights(w: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """U of w turned 180 degrees with C and F swapped, [36][F][C]: the dual plan's weights."""
    return weights(np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2)), dtype)


def dweights(du: np.ndarray, dw: np.ndarray) -> None:
    """dw (3, 3, C, F) = G^T dU G from the kernel's dU [36][C][F]."""
    g = G.astype(dw.dtype)
    gt = (g.T @ du.reshape(6, -1)).reshape(3, 6, -1)
    dw.reshape(3, 3, -1)[...] = np.einsum("ibk,bj->ijk", gt, g)

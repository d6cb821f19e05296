"""One checked plan per conv2d geometry: pads, output size, chunking, workspace and the path of
each direction, built once per (op, input shape, kernel shape, strides, padding, dilation, groups,
dtype, format, threads) and cached. The op's check, its forward and backward and the benchmarks
read the same ConvPlan; its `.c` is the C struct the kernels trust (minigrad/_ext/conv_plan.h).

Every size is computed in Python integers and checked before anything is allocated: each buffer
against the address space, each offset product the C kernels form against int64. A geometry that
cannot be served raises ValueError naming the op, the argument and its value.
"""
from __future__ import annotations

import os
import sys
import warnings
from typing import Any, Sequence

import numpy as np

from minigrad import validation
from minigrad._ext import _conv
from minigrad.kernels import conv_winograd as winograd

__all__ = ["ConvPlan", "plan", "plans", "force_path", "conv_output_size", "same_padding",
           "resolve_padding", "ADDRESSABLE_BYTES", "PATHS", "DIRECTIONS"]

Padding = str | int | Sequence[Any]
PATHS = _conv.PATHS  # ("direct", "implicit", "im2col", "winograd")
DIRECTIONS = ("forward", "input_grad", "weight_grad")
ADDRESSABLE_BYTES = min(sys.maxsize, 2**47)  # x86-64 user space; no buffer may be larger
_INT64_SAFE = 2**62  # every offset product the kernels form stays below this (int64, headroom)
_BLAS_INT = 2**31 - 1  # BLAS takes 32-bit sizes: the im2col path needs its GEMM dims below
# A chunk of images per GEMM: about _TARGET_ROWS output pixels (GEMMs thinner than ~1000 rows lose
# efficiency, much taller ones spill the cache: measured 75/93/44 GFLOP/s at 676/2704/10816 rows
# for the 1->32 layer), and at most _CHUNK_ELEMENTS of im2col (1 MiB float32: one core's L2 here).
_TARGET_ROWS = 2048
_CHUNK_ELEMENTS = 256 * 1024
_PAD_COPY_RATIO = 4  # implicit GEMM: a padded copy at most this many times the chunk's x + y
_FORMATS = ("channels_last", "channels_first")
_MAX_PLANS = 256  # a process sees a few geometries; the bound only guards against a leak
_plans: dict[tuple, "ConvPlan"] = {}
_forced: str | None = None


def conv_output_size(in_size: int, kernel: int, stride: int, dilation: int, pad_before: int,
                     pad_after: int) -> int:
    """floor((in + pads - d*(k-1) - 1) / s) + 1; may be <= 0 when the kernel does not fit."""
    if stride < 1:
        raise ValueError(f"conv_output_size: stride must be positive, received {stride}")
    return (in_size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def same_padding(in_size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """(before, after) giving out = ceil(in / s); the odd pixel goes after (bottom/right), as in TF."""
    if stride < 1:
        raise ValueError(f"same_padding: stride must be positive, received {stride}")
    out = -(-in_size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - in_size, 0)
    return total // 2, total - total // 2


def _pair(value: Any, name: str, op: str, rank: int = 2) -> tuple[int, ...]:
    vals = (value,) * rank if validation.is_int(value) else tuple(value)
    if len(vals) != rank or not all(validation.is_int(v) for v in vals):
        raise TypeError(f"{op}: {name} must be an int or {rank} ints, received {value!r}")
    if min(vals) < 1 or max(vals) >= _INT64_SAFE:
        raise ValueError(f"{op}: {name} must be in [1, 2**62), received {value!r}")
    return tuple(int(v) for v in vals)


def _normalize_padding(padding: Padding, op: str) -> str | tuple[int, int, int, int]:
    """'valid' | 'same' (lower case), or (top, bottom, left, right) from any accepted spelling."""
    if isinstance(padding, str):
        if padding.lower() in ("valid", "same"):
            return padding.lower()
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a tuple, "
                         f"received {padding!r}")
    if validation.is_int(padding):
        pads: tuple = (padding,) * 4
    else:
        try:
            flat = tuple(padding)
        except TypeError:
            flat = ()
        if len(flat) == 2 and all(isinstance(p, (tuple, list)) for p in flat):
            flat = (*flat[0], *flat[1])
        pads = (flat[0], flat[0], flat[1], flat[1]) if len(flat) == 2 else flat
    if len(pads) != 4 or not all(validation.is_int(p) for p in pads):
        raise TypeError(f"{op}: padding must be 'valid', 'same', an int, (ph, pw) or "
                        f"(top, bottom, left, right), received {padding!r}")
    if min(pads) < 0 or max(pads) >= _INT64_SAFE:
        raise ValueError(f"{op}: padding must be in [0, 2**62), received {padding!r}")
    return tuple(int(p) for p in pads)  # type: ignore[return-value]


def resolve_padding(padding: Padding, in_hw: Sequence[int], kernel: Sequence[int],
                    strides: Sequence[int], dilation: Sequence[int], op: str = "conv2d"
                    ) -> tuple[int, int, int, int]:
    """'valid' | 'same' | p | (ph, pw) | (top, bottom, left, right) | ((t, b), (l, r)) -> (t, b, l, r)."""
    mode = _normalize_padding(padding, op)
    if mode == "valid":
        return 0, 0, 0, 0
    if mode == "same":
        return (*same_padding(in_hw[0], kernel[0], strides[0], dilation[0]),
                *same_padding(in_hw[1], kernel[1], strides[1], dilation[1]))
    return mode  # type: ignore[return-value]


def force_path(path: str | None) -> str | None:
    """Run every direction by `path` ('direct', 'implicit', 'im2col', 'winograd') where eligible, or
    choose again (None); returns the previous setting. MINIGRAD_CONV_ALGO sets it at start-up."""
    global _forced
    validation.choice(path, (*PATHS, None), "force_path", "path")
    previous, _forced = _forced, path  # part of the plan key: switching back finds the old plans
    return previous


def forced_path() -> str | None:
    """The path force_path / MINIGRAD_CONV_ALGO imposes, or None."""
    return _forced


def plans() -> list["ConvPlan"]:
    """The plans this process has built (what `python -m minigrad info` lists)."""
    return list({id(p): p for p in _plans.values()}.values())


def plan(op: str, x_shape: Sequence[int], w_shape: Sequence[int], dtype: Any, strides: Any = 1,
         padding: Padding = "valid", dilation: Any = 1, groups: int = 1,
         data_format: str = "channels_last") -> "ConvPlan":
    """The cached ConvPlan of this geometry (x_shape in data_format, w_shape (KH, KW, C/g, F))."""
    from minigrad._ext._parallel import num_threads

    # as given, for the calls of a training step (their normalization below cost ~20 us a call)
    plain = validation.plain(x_shape, w_shape, strides, padding, dilation, groups, data_format)
    given = ("as given", x_shape, w_shape, dtype, strides, padding, dilation, groups, data_format,
             num_threads(), _conv.isa(), _forced)
    if plain and (found := _plans.get(given)) is not None:
        return found
    dtype = np.dtype(dtype)
    validation.integer(groups, op, "groups", low=1)
    # the op's name is not part of the key: errors name the op that built the plan, and a plan
    # that was built raises no more
    key = (tuple(x_shape), tuple(w_shape), dtype.char, _pair(strides, "strides", op),
           _normalize_padding(padding, op), _pair(dilation, "dilation", op), groups, data_format,
           num_threads(), _conv.isa(), _forced)
    found = _plans.get(key)
    if found is None:
        found = ConvPlan(op, *key)
        if len(_plans) >= _MAX_PLANS:
            _plans.pop(next(iter(_plans)))
        _plans[key] = found
    if plain:  # the same plan under the arguments as given (one dict: clearing it clears both)
        _plans[given] = found
    return found


class ConvPlan:
    """Checked geometry of one conv2d, in NHWC terms, with its chunking, workspace and paths."""

    def __init__(self, op: str, x_shape: tuple, w_shape: tuple, dtype_char: str,
                 strides: tuple[int, int], padding: str | tuple, dilation: tuple[int, int],
                 groups: Any, data_format: str, threads: int, isa: str,
                 forced: str | None = None) -> None:
        validation.choice(data_format, _FORMATS, op, "data_format")
        if len(x_shape) != 4 or len(w_shape) != 4:
            raise ValueError(f"{op}: expected x of rank 4 and w of rank 4 (KH, KW, C/groups, F), "
                             f"received x {x_shape} and w {w_shape}")
        self.op, self.groups, self.data_format, self.isa = op, int(groups), data_format, isa
        self.forced = forced
        self.dtype = np.dtype(dtype_char)
        self.strides, self.dilation = strides, dilation
        n, h, wd, c = (x_shape if data_format == "channels_last"
                       else (x_shape[0], x_shape[2], x_shape[3], x_shape[1]))
        kh, kw, cg, f = (int(v) for v in w_shape)
        if min(kh, kw, cg, f) < 1:
            raise ValueError(f"{op}: kernel size, channels and filters must be positive, "
                             f"received w {w_shape}")
        if c % self.groups or f % self.groups or cg * self.groups != c:
            raise ValueError(
                f"{op}: x has {c} channels ({data_format}) and w {w_shape} expects "
                f"{cg} x groups={self.groups} = {cg * self.groups}; both channels and filters "
                f"({f}) must be divisible by groups")
        self.pads = resolve_padding(padding, (h, wd), (kh, kw), strides, dilation, op)
        top, bottom, left, right = self.pads
        oh = conv_output_size(h, kh, strides[0], dilation[0], top, bottom)
        ow = conv_output_size(wd, kw, strides[1], dilation[1], left, right)
        if oh < 1 or ow < 1:
            raise ValueError(
                f"{op}: kernel ({kh}, {kw}) with dilation {dilation} does not fit the padded "
                f"input ({h + top + bottom}, {wd + left + right}) (input ({h}, {wd}), padding "
                f"{self.pads}, strides {strides}): computed output size ({oh}, {ow})")
        self.in_shape, self.w_shape = (int(n), int(h), int(wd), int(c)), (kh, kw, cg, f)
        self.out_shape = (int(n), oh, ow, f)
        self._check_sizes()
        self.threads, self.kg = threads, kh * kw * cg
        self.chunk, self.n_threads, self.n_chunks = self._chunking(threads)
        self.eligible = {d: self._eligible(d) for d in DIRECTIONS}
        self.paths: dict[str, str] = {}
        self.reasons: dict[str, str] = {}
        for direction, options in self.eligible.items():
            if not options:
                raise ValueError(f"{op}: no conv kernel can serve {direction} for x {x_shape}, "
                                 f"w {w_shape}, strides {strides}, padding {self.pads}, dilation "
                                 f"{dilation}, groups {groups}: {self._why_not(direction)}")
            self.paths[direction], self.reasons[direction] = self._default(direction)
        self._build_c()
        self.measured: dict[str, dict[str, float]] = {}

    # ---- geometry checks ---------------------------------------------------------------------
    def _check_sizes(self) -> None:
        op, (n, h, wd, c), (kh, kw, cg, f) = self.op, self.in_shape, self.w_shape
        _, oh, ow, _ = self.out_shape
        top, bottom, left, right = self.pads
        item = self.dtype.itemsize
        for name, elements in (("x", n * h * wd * c), ("w", kh * kw * cg * f),
                               ("the output", n * oh * ow * f)):
            if elements * item > ADDRESSABLE_BYTES:
                raise ValueError(
                    f"{op}: {name} would hold {elements} elements ({elements * item} bytes), beyond "
                    f"the addressable {ADDRESSABLE_BYTES} bytes (input {self.in_shape}, kernel "
                    f"{self.w_shape}, strides {self.strides}, padding {self.pads})")
        sh, sw = self.kernel_strides()
        products = {  # what the kernels compute as int64 offsets (and what bounds the rest)
            "padding": max(h + top + bottom, wd + left + right),
            "strides": max(sh * wd * c, sw * c),
        }
        for name, value in products.items():
            if value >= _INT64_SAFE:
                raise ValueError(
                    f"{op}: {name} {getattr(self, 'pads' if name == 'padding' else name)} "
                    f"too large for an input {self.in_shape}: offsets reach {value} >= 2**62")

    def kernel_strides(self) -> tuple[int, int]:
        """Strides as the kernels use them: 1 along an axis with one output (any stride is then
        the same), so a huge stride never enters a product."""
        _, oh, ow, _ = self.out_shape
        return (1 if oh == 1 else self.strides[0]), (1 if ow == 1 else self.strides[1])

    def kernel_dilation(self) -> tuple[int, int]:
        """Dilation as the kernels use it: 1 along an axis with one tap."""
        kh, kw = self.w_shape[:2]
        return (1 if kh == 1 else self.dilation[0]), (1 if kw == 1 else self.dilation[1])

    def _padded_extent(self) -> tuple[int, int]:
        """Rows and columns the windows span, padding included (the implicit GEMM's copy)."""
        (_, oh, ow, _), (kh, kw, _, _) = self.out_shape, self.w_shape
        (sh, sw), (dh, dw) = self.kernel_strides(), self.kernel_dilation()
        return (oh - 1) * sh + (kh - 1) * dh + 1, (ow - 1) * sw + (kw - 1) * dw + 1

    def padded(self) -> bool:
        """Whether the windows reach outside x (the implicit GEMM then reads a zero-bordered copy)."""
        hp, wp = self._padded_extent()
        _, h, wd, _ = self.in_shape
        return self.pads[0] > 0 or self.pads[2] > 0 or hp > h or wp > wd

    def _chunking(self, threads: int) -> tuple[int, int, int]:
        """(most images per chunk, threads, chunks): the chunks a multiple of the threads where
        there are images enough, their sizes differing by one at most (_conv's chunk_range), so
        that a static schedule gives each thread the same work (64 images in chunks of 7 gave
        35 and 29)."""
        n, (_, oh, ow, _), kg = self.in_shape[0], self.out_shape, self.kg
        # waking a second thread (and re-pinning BLAS) costs more than it saves on tiny problems
        n_threads = threads if n * oh * ow * kg >= _CHUNK_ELEMENTS // 4 else 1
        per_thread = max(1, -(-n // n_threads))
        chunk = max(1, min(per_thread, -(-_TARGET_ROWS // (oh * ow)),
                           _CHUNK_ELEMENTS // (oh * ow * kg)))
        n_threads = max(1, min(n_threads, -(-n // chunk)))
        n_chunks = min(n, -(-(-(-n // chunk)) // n_threads) * n_threads)
        return chunk, n_threads, n_chunks

    # ---- paths ---------------------------------------------------------------------------------
    def slot(self, path: str, direction: str = "forward") -> int:
        """Scratch elements one thread needs for `path` in `direction`."""
        (_, oh, ow, _), c = self.out_shape, self.in_shape[3]
        if path == "im2col":
            return self.chunk * oh * ow * self.kg
        if path == "implicit" and self.padded():
            hp, wp = self._padded_extent()
            return self.chunk * hp * wp * c
        if path == "winograd":
            return winograd.slot(self, direction)
        return 0

    def _why_not(self, direction: str, path: str | None = None) -> str:
        """Why `path` (each path, when None) cannot serve `direction`; '' when it can."""
        if path is None:
            return "; ".join(f"{p}: {why}" for p in PATHS if (why := self._why_not(direction, p)))
        (_, _, _, c), (_, oh, ow, f), item = self.in_shape, self.out_shape, self.dtype.itemsize
        taps = self.w_shape[0] * self.w_shape[1]
        if path == "direct":
            if direction == "input_grad":
                return "no direct input-gradient kernel"
            if self.groups != 1 or self.kg > _conv.DIRECT_MAX_TAPS:
                return f"needs one group and at most {_conv.DIRECT_MAX_TAPS} taps (KH*KW*C)"
            return ""
        if path == "winograd" and (why := winograd.why_not(self, direction)):
            return why
        slot = self.slot(path, direction)
        if self.n_threads * (slot + self._partials(path)) * item > ADDRESSABLE_BYTES:
            return f"a workspace of {slot} elements per thread exceeds the address space"
        if path == "implicit":
            lanes = _conv.lanes(item)
            if self.groups != 1 or c % lanes or f % lanes:
                return f"needs one group and C, F multiples of {lanes} ({_conv.isa()} vectors)"
            if taps > _conv.IMPLICIT_MAX_TAPS:
                return f"needs at most {_conv.IMPLICIT_MAX_TAPS} kernel taps"
            per_chunk = self.chunk * (self.in_shape[1] * self.in_shape[2] * c + oh * ow * f)
            if slot > _PAD_COPY_RATIO * per_chunk:
                return f"its zero-bordered copy of x ({slot} elements) would dwarf x and y"
            return ""
        if path == "winograd":
            return ""
        if max(self.chunk * oh * ow, self.kg, f) > _BLAS_INT:
            return "a GEMM dimension exceeds BLAS's 32-bit sizes"
        return ""

    def _partials(self, weight_path: str) -> int:
        """Elements of one thread's dw (Winograd: dU, 36 C F) and db partial sums."""
        f = self.out_shape[3]
        rows = winograd.ELEMENTS * self.in_shape[3] if weight_path == "winograd" else self.kg
        return rows * f + f

    def _eligible(self, direction: str) -> tuple[str, ...]:
        return tuple(p for p in PATHS if not self._why_not(direction, p))

    def _default(self, direction: str) -> tuple[str, str]:
        """(path, reason) without measurement: forced, else direct > implicit > im2col."""
        options = self.eligible[direction]
        if self.forced is not None:
            if self.forced in options:
                return self.forced, "forced (force_path / MINIGRAD_CONV_ALGO)"
            note = f"forced {self.forced} not eligible ({self._why_not(direction, self.forced)}); "
        else:
            note = ""
        path = options[0]
        why = {"direct": f"{self.kg} taps <= {_conv.DIRECT_MAX_TAPS}",
               "implicit": "C and F whole vectors, one group",
               "im2col": "the general path", "winograd": "3x3, stride 1"}[path]
        return path, note + f"rule: {why}"

    def _choose(self, direction: str, path: str, reason: str) -> None:
        self.paths[direction], self.reasons[direction] = path, reason
        self._build_c()

    def _build_c(self) -> None:
        (n, h, wd, c), (kh, kw, cg, f), (_, oh, ow, _) = self.in_shape, self.w_shape, self.out_shape
        (sh, sw), (dh, dw) = self.kernel_strides(), self.kernel_dilation()
        padded = self.padded()
        hp, wp = self._padded_extent() if padded else (h, wd)
        paths, forward = self.paths, self.slot(self.paths["forward"])
        backward = max(self.slot(paths["input_grad"], "input_grad"),
                       self.slot(paths["weight_grad"], "weight_grad"))
        partials = self._partials(paths["weight_grad"])
        self.c = _conv.Plan(
            N=n, H=h, W=wd, C=c, KH=kh, KW=kw, Cg=cg, F=f, OH=oh, OW=ow, stride_h=sh, stride_w=sw,
            dilation_h=dh, dilation_w=dw, pad_top=self.pads[0], pad_bottom=self.pads[1],
            pad_left=self.pads[2], pad_right=self.pads[3], groups=self.groups, Fg=f // self.groups,
            Kg=self.kg, xp_h=hp, xp_w=wp, padded=int(padded), **winograd.geometry(self),
            chunk=self.chunk, n_chunks=self.n_chunks, n_threads=self.n_threads,
            slot_forward=forward, slot_backward=backward,
            partials=partials, path_forward=PATHS.index(paths["forward"]),
            path_input_grad=PATHS.index(paths["input_grad"]),
            path_weight_grad=PATHS.index(paths["weight_grad"]))
        workspace = {"forward": max(1, self.n_threads * forward),
                     "backward": max(1, self.n_threads * (backward + partials))}
        self.workspace = workspace
        # what a kernel call reads, replaced as one object: a call running while another Python
        # thread measures this plan sees one consistent choice
        dual = winograd.dual_plan(self) if paths["input_grad"] == "winograd" else None
        self.state = (self.c, dict(paths), workspace, dual)

    # ---- layout helpers ------------------------------------------------------------------------
    def nhwc(self, a: np.ndarray) -> np.ndarray:
        """a (N, H, W, C) C-contiguous, transposing from channels_first when needed."""
        if self.data_format == "channels_first":
            a = a.transpose(0, 2, 3, 1)
        return np.ascontiguousarray(a)

    def native(self, a: np.ndarray) -> np.ndarray:
        """An NHWC result back in the caller's data format."""
        if self.data_format == "channels_first":
            return np.ascontiguousarray(a.transpose(0, 3, 1, 2))
        return a

    def describe(self) -> str:
        """One line per direction: the path chosen and why (for `python -m minigrad info`)."""
        head = (f"{self.op} x{self.in_shape} (NHWC) w{self.w_shape} {self.dtype.name} strides "
                f"{self.strides} dilation {self.dilation} pads {self.pads} groups {self.groups}, "
                f"{self.n_threads} thread(s), chunks of {self.chunk}")
        lines = [f"  {d:12s} {self.paths[d]:9s} {self.reasons[d]}" for d in DIRECTIONS]
        return "\n".join([head, *lines])


_forced = os.environ.get("MINIGRAD_CONV_ALGO") or None
if _forced is not None and _forced not in PATHS:
    warnings.warn(f"minigrad: MINIGRAD_CONV_ALGO={_forced!r} is not one of {PATHS}; ignored",
                  RuntimeWarning, stacklevel=2)
    _forced = None

"""Checks of the built extensions' disassembly: _conv keeps its vector accumulators in registers, and
the hot loops of _activation, _pool and _optim are vectorized in whatever build this is (the
default one is portable: baseline x86-64, SSE2).

Spills: an accumulator tile that a compiler tuning decides to keep on the stack shows up as FMAs with a
stack operand, or as vector moves between registers and a fixed stack slot inside the implicit
GEMM and Winograd kernels (the tiles are inlined there); the issue-11 build had ~120 of them and ran at 20 % of
sgemm. Indexed stack addresses (`(%rsp,%rcx,8)`) are the kernels' own offset arrays, not spills;
a positive `(%rbp)` offset is rbp used as a plain pointer.

Vectorized: the OpenMP bodies of a hot kernel (Cython outlines each prange as
`__pyx_pf_..._<n><kernel>._omp_fn.<k>`, one per element type) holds a packed instruction of the
loop's job, a compare for the selects (relu, max pooling), a multiply or add for arithmetic: `ps`
for the float body, `pd` for the double one. A loop that GCC leaves scalar has only `ss`/`sd`
forms there: relu backward and max pooling did without -march=native, 10x and 8x slower. The C
kernels of the ISA-dispatched families (isa.h: `rmsprop_f32_avx2`, ...) are each checked alone.
"""
from __future__ import annotations

import functools
import re
import shutil
import subprocess
from types import ModuleType

import pytest

from minigrad._ext import _activation, _conv, _optim, _pool

STACK_SLOT = r"(?:-?0x[0-9a-f]+)?\(%rsp\)|-0x[0-9a-f]+\(%rbp\)"  # a fixed slot, not an array
STACK_FMA = re.compile(rf"\bv?fn?madd\d*[ps][sd]\s.*(?:{STACK_SLOT})")
# whole-vector moves only: vmovq/vmovd park a pointer in an xmm register, which is no accumulator
VECTOR_MOVE = re.compile(rf"\bv?mov(?:[au]p[sd]|dq[au]\w*)\s.*(?:{STACK_SLOT})")
FUNCTION = re.compile(r"^[0-9a-f]+ <([^>]+)>:$")
PACKED = {"select": r"v?cmp\w*p([sd])", "arith": r"v?(?:add|sub|mul|div|sqrt|fn?m(?:add|sub)\d*)p([sd])"}
# module -> {kernel: (the packed instruction its loop needs, in float "s" and double "d")}
HOT_LOOPS = {
    _activation: {**dict.fromkeys(["relu_forward", "relu_backward", "leaky_relu_forward",
                                   "leaky_relu_backward", "hard_sigmoid_forward",
                                   "hard_sigmoid_backward"], ("select", "sd")),
                  **dict.fromkeys(["sigmoid_backward", "tanh_backward"], ("arith", "sd"))},
    # max pooling over channels runs in vector blocks at every level and type (pool_body.h)
    _pool: {"max_row": ("select", "sd"), "avg_row": ("arith", "sd"), "avg_row_backward": ("arith", "sd")},
    _optim: dict.fromkeys(["sgd", "rmsprop", "adam", "adagrad", "ema"], ("arith", "sd")),
}
OMP_BODY = r"__pyx_pf_\w+_\d+{}\._omp_fn\.\d+"
C_KERNEL = r"{}_f(32|64)_(?:baseline|avx2|avx512)"  # a kernel family of isa.h: one per type and level


@functools.cache
def _disassemble(module: ModuleType) -> dict[str, list[str]]:
    """An extension's instructions, by function."""
    if shutil.which("objdump") is None:
        pytest.skip("objdump is not installed (binutils): cannot disassemble the extension")
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", module.__file__],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    functions: dict[str, list[str]] = {}
    current: list[str] = []
    for line in out.splitlines():
        if (m := FUNCTION.match(line)) is not None:
            current = functions.setdefault(m.group(1), [])
        else:
            current.append(line)
    return functions


def _folded(functions: dict[str, list[str]], name: str) -> list[str]:
    """A function's body, or that of the identical function GCC folded it into: built with
    -march=native, the FMA levels compile to the baseline's code and become a `jmp` to it."""
    body = [line for line in functions[name] if line.strip()]
    if body and (m := re.search(r"\bjmp\s+[0-9a-f]+ <([^>+]+)>$", body[0])) and m.group(1) in functions:
        return functions[m.group(1)]
    return functions[name]


@pytest.fixture(scope="module")
def disassembly() -> dict[str, list[str]]:
    """The _conv extension's instructions, by function."""
    return _disassemble(_conv)


def test_no_vector_fma_reads_the_stack(disassembly: dict[str, list[str]]) -> None:
    spilled = {name: n for name, body in disassembly.items()
               if (n := sum(1 for line in body if STACK_FMA.search(line)))}
    assert not spilled, f"FMAs with a stack operand (accumulators spilled?) in {spilled}"


def test_implicit_gemm_tiles_stay_in_registers(disassembly: dict[str, list[str]]) -> None:
    kernels = [name for name in disassembly
               if re.fullmatch(r"(?:ig_\w+|wino_forward)_f(32|64)_avx(2|512)", name)]
    if not kernels:
        pytest.skip("no AVX2/AVX-512 kernels with symbols in this build (non-x86 or stripped)")
    # implicit forward, dweights, dinput and Winograd's forward (its GEMMs inline the same tile)
    assert len(kernels) == 16  # x f32, f64 x avx2, avx512
    spills = {name: [line.strip() for line in disassembly[name] if VECTOR_MOVE.search(line)]
              for name in kernels}
    spills = {name: lines[:3] for name, lines in spills.items() if lines}
    assert not spills, f"vector registers moved to/from stack slots in {spills}"


@pytest.mark.parametrize("module, kernel", [(m, k) for m, kernels in HOT_LOOPS.items() for k in kernels],
                         ids=lambda v: v.__name__.rpartition(".")[2] if isinstance(v, ModuleType) else v)
def test_hot_loops_are_vectorized(module: ModuleType, kernel: str) -> None:
    job, widths = HOT_LOOPS[module][kernel]
    packed = re.compile(rf"\b{PACKED[job]}\s")
    functions = _disassemble(module)
    c_kernels = {name: width for name in functions if (m := re.fullmatch(C_KERNEL.format(kernel), name))
                 and (width := "s" if m.group(1) == "32" else "d") in widths}
    if c_kernels:  # each compilation (element type x ISA level) is vectorized on its own
        scalar = [name for name, width in c_kernels.items()
                  if not any((m := packed.search(line)) and m.group(1) == width
                             for line in _folded(functions, name))]
        assert not scalar, f"{kernel}: no packed {job} instruction in {scalar} (loop left scalar?)"
        return
    bodies = {name: body for name, body in functions.items() if re.fullmatch(OMP_BODY.format(kernel), name)}
    if not bodies:
        pytest.skip(f"no OpenMP bodies of {kernel} with symbols (built without OpenMP, or stripped)")
    found = {m.group(1) for body in bodies.values() for line in body if (m := packed.search(line))}
    missing = [{"s": "float (ps)", "d": "double (pd)"}[w] for w in widths if w not in found]
    assert not missing, f"{kernel}: no packed {job} for {missing} in {sorted(bodies)} (loop left scalar?)"


def test_max_pool_backward_compares_a_vector_of_argmax_at_a_time() -> None:
    """The disjoint-window backward selects dy by an int32 compare of the argmax with each
    position (pcmpeqd and its VEX/EVEX forms), not by a scalar scatter, in every compilation."""
    functions = _disassemble(_pool)
    kernels = [name for name in functions if re.fullmatch(C_KERNEL.format("max_row_backward"), name)]
    if not kernels:
        pytest.skip("no max_row_backward kernels with symbols in this build (stripped?)")
    compare = re.compile(r"\bv?pcmp\w*d\s")
    scalar = [name for name in kernels if not any(compare.search(line) for line in _folded(functions, name))]
    assert not scalar, f"no packed int32 compare in {scalar} (loop left scalar?)"

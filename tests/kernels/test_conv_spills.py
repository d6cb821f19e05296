"""The built _conv keeps its vector accumulators in registers: a disassembly check of the extension.

An accumulator tile that a compiler tuning decides to keep on the stack shows up as FMAs with a
stack operand, or as vector moves between registers and a fixed stack slot inside the implicit
GEMM kernels (the tiles are inlined there); the issue-11 build had ~120 of them and ran at 20 % of
sgemm. Indexed stack addresses (`(%rsp,%rcx,8)`) are the kernels' own offset arrays, not spills;
a positive `(%rbp)` offset is rbp used as a plain pointer.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from minigrad._ext import _conv

STACK_SLOT = r"(?:-?0x[0-9a-f]+)?\(%rsp\)|-0x[0-9a-f]+\(%rbp\)"  # a fixed slot, not an array
STACK_FMA = re.compile(rf"\bv?fn?madd\d*[ps][sd]\s.*(?:{STACK_SLOT})")
# whole-vector moves only: vmovq/vmovd park a pointer in an xmm register, which is no accumulator
VECTOR_MOVE = re.compile(rf"\bv?mov(?:[au]p[sd]|dq[au]\w*)\s.*(?:{STACK_SLOT})")
FUNCTION = re.compile(r"^[0-9a-f]+ <([^>]+)>:$")


@pytest.fixture(scope="module")
def disassembly() -> dict[str, list[str]]:
    """The _conv extension's instructions, by function."""
    if shutil.which("objdump") is None:
        pytest.skip("objdump is not installed (binutils): cannot disassemble the extension")
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", _conv.__file__],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    functions: dict[str, list[str]] = {}
    current: list[str] = []
    for line in out.splitlines():
        if (m := FUNCTION.match(line)) is not None:
            current = functions.setdefault(m.group(1), [])
        else:
            current.append(line)
    return functions


def test_no_vector_fma_reads_the_stack(disassembly: dict[str, list[str]]) -> None:
    spilled = {name: n for name, body in disassembly.items()
               if (n := sum(1 for line in body if STACK_FMA.search(line)))}
    assert not spilled, f"FMAs with a stack operand (accumulators spilled?) in {spilled}"


def test_implicit_gemm_tiles_stay_in_registers(disassembly: dict[str, list[str]]) -> None:
    kernels = [name for name in disassembly if re.fullmatch(r"ig_\w+_f(32|64)_avx(2|512)", name)]
    if not kernels:
        pytest.skip("no AVX2/AVX-512 kernels with symbols in this build (non-x86 or stripped)")
    assert len(kernels) == 12  # forward, dweights, dinput x f32, f64 x avx2, avx512
    spills = {name: [line.strip() for line in disassembly[name] if VECTOR_MOVE.search(line)]
              for name in kernels}
    spills = {name: lines[:3] for name, lines in spills.items() if lines}
    assert not spills, f"vector registers moved to/from stack slots in {spills}"

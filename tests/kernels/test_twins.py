"""Every kernel has a NumPy twin in minigrad.kernels.reference: same name, same signature, and a twin
that imports nothing from the code it checks. Kernels are the public functions of the modules of
minigrad.kernels and of the compiled minigrad._ext modules, found by walking the packages."""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import types
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import minigrad._ext
import minigrad.kernels
from minigrad.kernels import conv as K
from minigrad.kernels import reference as R

# Public functions that are not kernels, and why each needs no twin.
NOT_KERNELS = {
    "plan": "the cached conv geometry of a call: no numbers of its own (the conv twins check every path it picks)",
    "plans": "lists the conv plans built so far",
    "force_path": "imposes a conv path; tests force each path and compare it with the conv twins",
    "conv2d_plan": "the checked plan of a conv2d call: validation only",
    "conv1d_plan": "the checked plan of a conv1d call: validation only",
    "pool_geometry": "validation and the kernel's memory view; the pool twins derive the windows again",
    "tune": "times the eligible conv paths once; computes no results",
    "cache_file": "where conv_tune keeps its measured choices",
    "cpu_model": "the CPU name that keys conv_tune's choices",
    "load": "_blas: resolves scipy's BLAS symbols on first use",
    "select_isa": "picks the instruction set; tests run every level against the twins (test_isa_levels)",
    "isa": "the instruction set in use",
    "isa_index": "the instruction set's place in the dispatch table",
    "isa_from_environment": "reads MINIGRAD_ISA: which instruction set to use, no results",
    "lanes": "_conv: vector width of the instruction set (weight packing, no results)",
}
NOT_KERNEL_MODULES = {
    "reference": "the twins themselves",
    "_tensor": "the autograd engine (Tensor, Node, backward), checked by gradcheck, not a kernel",
    "_parallel": "thread-count control",
    "_memory": "the allocator's trim and mmap thresholds",
    "conv_winograd": "the Winograd conv path's geometry and weight transforms: the conv twins check "
                     "every result the path gives (tests force it)",
}


def _modules(package: types.ModuleType) -> list[types.ModuleType]:
    return [importlib.import_module(f"{package.__name__}.{m.name}")
            for m in pkgutil.iter_modules(package.__path__) if m.name not in NOT_KERNEL_MODULES]


def _kernels(module: types.ModuleType) -> dict[str, Any]:
    """Public functions (classes are not kernels): its __all__, or every public name of a compiled module."""
    names = getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")])
    return {n: getattr(module, n) for n in names
            if callable(getattr(module, n)) and not isinstance(getattr(module, n), type)}


def missing_twins(modules: list[types.ModuleType], twins: Any) -> list[str]:
    """'module.name' of every kernel in modules without a same-named twin or an exemption."""
    return [f"{m.__name__}.{n}" for m in modules for n in _kernels(m)
            if n not in NOT_KERNELS and not hasattr(twins, n)]


KERNEL_MODULES = _modules(minigrad.kernels)
EXT_MODULES = _modules(minigrad._ext)


def test_every_kernel_and_every_compiled_kernel_has_a_twin() -> None:
    assert {m.__name__.rsplit(".", 1)[1] for m in KERNEL_MODULES} >= {"activation", "conv", "optim", "pool"}
    assert {m.__name__.rsplit(".", 1)[1] for m in EXT_MODULES} >= {"_activation", "_conv", "_optim", "_pool"}
    assert missing_twins(KERNEL_MODULES + EXT_MODULES, R) == []


def test_a_kernel_without_a_twin_is_reported() -> None:
    fake = types.ModuleType("minigrad.kernels.fake")
    fake.__all__ = ["relu_forward", "cube_forward", "plan", "Geometry"]
    fake.relu_forward = fake.cube_forward = fake.plan = lambda x: x
    fake.Geometry = type("Geometry", (), {})
    assert missing_twins([fake], R) == ["minigrad.kernels.fake.cube_forward"]


def test_every_twin_names_a_kernel() -> None:
    """No twin outlives its kernel (a renamed kernel would leave one checking nothing)."""
    kernels = {n for m in KERNEL_MODULES + EXT_MODULES for n in _kernels(m)}
    keras = {"KerasOptimizer", "KERAS_DEFAULTS", "KERAS_BASE_DEFAULTS", "keras_slots"}  # optimizers' reference
    twins = {n for m in R.MODULES for n in importlib.import_module(f"{R.__name__}.{m}").__all__}
    assert twins - keras - kernels == set()


def _parameters(fn: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def test_twins_take_the_kernels_arguments() -> None:
    for module in KERNEL_MODULES:
        for name, kernel in _kernels(module).items():
            if name not in NOT_KERNELS:
                assert _parameters(getattr(R, name)) == _parameters(kernel), f"{module.__name__}.{name}"


def test_twins_import_nothing_from_the_code_they_check() -> None:
    for path in Path(R.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not isinstance(node, ast.ImportFrom) or node.level == 0, f"{path.name}: relative import"
                assert not name.startswith("minigrad") or name.startswith(R.__name__), f"{path.name} imports {name}"


@given(size=st.integers(1, 40), kernel=st.integers(1, 6), stride=st.integers(1, 5),
       dilation=st.integers(1, 4), pads=st.tuples(st.integers(0, 3), st.integers(0, 3)))
def test_conv_geometry_twins(size: int, kernel: int, stride: int, dilation: int,
                             pads: tuple[int, int]) -> None:
    assert R.conv_output_size(size, kernel, stride, dilation, *pads) == \
        K.conv_output_size(size, kernel, stride, dilation, *pads)
    assert R.same_padding(size, kernel, stride, dilation) == K.same_padding(size, kernel, stride, dilation)
    for padding in ("valid", "SAME", pads[0], pads, (*pads, *pads[::-1]), (pads, pads[::-1])):
        args = (padding, (size, size + 1), (kernel, 2), (stride, 1), (dilation, 1))
        assert R.resolve_padding(*args) == K.resolve_padding(*args), padding


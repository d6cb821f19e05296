"""Plain NumPy/SciPy twins of every kernel in minigrad.kernels (same names and signatures), for parity.

Slow but obvious, and independent: nothing here imports the code it checks (the geometry, the
windows and the update formulas are derived again from the formulas they follow), so a bug in a
kernel's helpers cannot hide in its twin. tests/kernels/test_twins.py fails when a kernel has none.

`reference.conv2d_forward` and friends resolve on first use (PEP 562): the ops import this package
for their `reference` methods, and `import minigrad` should not pay for the twins.
"""
from __future__ import annotations

import importlib
from typing import Any

MODULES = ("activation", "conv", "optim", "pool")


def __getattr__(name: str) -> Any:
    for module in MODULES:
        twins = importlib.import_module(f"{__name__}.{module}")
        if name in twins.__all__:
            return getattr(twins, name)
    raise AttributeError(f"module {__name__!r} has no twin named {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *(name for module in MODULES for name in
                                 importlib.import_module(f"{__name__}.{module}").__all__)})

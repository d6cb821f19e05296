"""`python -m minigrad info`: CPU, ISA level, BLAS, threads and the conv plans with their reasons."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from minigrad._ext import _conv
from minigrad.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_info_lists_the_machine_and_every_conv_plan_with_its_reason(capsys) -> None:
    assert main(["info", "--conv"]) == 0
    out = capsys.readouterr().out
    assert "CPU: " in out and f"vector kernels: conv {_conv.isa()}, pooling {_conv.isa()}" in out and f"(CPU supports {_conv.CPU_ISA}" in out
    assert "BLAS:" in out and "threads: kernels " in out
    for shape in ("x(64, 28, 28, 1)", "x(64, 13, 13, 32)", "x(64, 5, 5, 64)"):
        assert shape in out
    for direction in ("forward", "input_grad", "weight_grad"):
        assert f"  {direction}" in out


def test_minigrad_isa_caps_the_level_at_import() -> None:
    env = {**os.environ, "MINIGRAD_ISA": "baseline", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "minigrad", "info"], capture_output=True,
                         text=True, env=env, check=True, timeout=120).stdout
    assert "vector kernels: conv baseline, pooling baseline, activations baseline, optimizer updates baseline (" in out and "MINIGRAD_ISA=baseline" in out

"""Print the CPU, the vector kernels' ISA level, the BLAS, thread counts and the conv plans seen.

Each conv plan shows the path (direct, implicit GEMM, im2col + BLAS or Winograd) chosen per direction and
why: a rule, a measurement (with the times) or a forced choice. `--conv` first runs the reference
CNN's three conv layers (batch 64) forward and backward, so their plans appear.
"""
from __future__ import annotations

import argparse
import platform

__all__ = ["add_arguments", "run", "report"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--conv."""
    parser.add_argument("--conv", action="store_true",
                        help="run the reference CNN's conv layers once so their plans are listed")


def _blas_lines() -> list[str]:
    from threadpoolctl import threadpool_info

    from minigrad._ext import _blas

    _blas.load()  # scipy's BLAS loads lazily: make it visible to threadpoolctl
    rows = [f"  {i['internal_api']} {i.get('version') or ''} ({i['user_api']}, "
            f"{i['num_threads']} threads, {i.get('threading_layer', '-')}) {i['filepath']}"
            for i in threadpool_info()]
    return rows or ["  none found by threadpoolctl"]


def report() -> str:
    """The whole report as text (also callable from a program, after its convs ran)."""
    import os

    from minigrad import __version__
    from minigrad._ext import _activation, _conv, _optim, _pool
    from minigrad.kernels import conv_plan
    from minigrad.kernels.conv_tune import cache_file, cpu_model
    from minigrad.threads import get_blas_threads, get_num_threads, openmp_available

    forced = os.environ.get("MINIGRAD_ISA")
    lines = [
        f"minigrad {__version__}, Python {platform.python_version()} on {platform.machine()}",
        f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs)",
        "vector kernels: " + ", ".join(f"{family} {mod.isa()}" for family, mod in (
            ("conv", _conv), ("pooling", _pool), ("activations", _activation), ("optimizer updates", _optim)))
        + f" (CPU supports {_conv.CPU_ISA}, build allows up to {_conv.BUILD_ISA}"
        f"{f', MINIGRAD_ISA={forced}' if forced else ''})",
        f"threads: kernels {get_num_threads()} (OpenMP {'on' if openmp_available() else 'off'}), "
        f"BLAS {get_blas_threads()} outside conv kernels",
        "BLAS:", *_blas_lines(),
    ]
    path = conv_plan.forced_path()
    plans = conv_plan.plans()
    lines.append(f"conv plans in this process: {len(plans)}"
                 + (f" (path forced: {path})" if path else f" (measured choices: {cache_file()})"))
    lines += [p.describe() for p in plans]
    return "\n".join(lines)


def _run_reference_convs() -> None:
    import numpy as np

    from minigrad.kernels import conv2d_backward, conv2d_forward

    rng = np.random.default_rng(0)
    for cin, cout, size in ((1, 32, 28), (32, 64, 13), (64, 64, 5)):
        x = rng.random((64, size, size, cin), dtype=np.float32)
        w = rng.standard_normal((3, 3, cin, cout), dtype=np.float32)
        y = conv2d_forward(x, w)
        conv2d_backward(np.ones_like(y), x, w, need_dx=cin > 1)


def run(args: argparse.Namespace) -> int:
    """Print the report; 0."""
    if args.conv:
        _run_reference_convs()
    print(report())
    return 0

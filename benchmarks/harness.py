"""Shared helpers for benchmarks/bench_*.py: timing, the optional torch import, result rows.

A bench module exposes `run(threads: int) -> list[dict]` (docs/CONTRACTS.md) and ends with
`if __name__ == "__main__": harness.standalone(run)`. `python -m benchmarks` runs each module in a
fresh child process per thread count (through `child_main`) and writes benchmarks/RESULTS.md.
Environment read here: MINIGRAD_NUM_THREADS (set by the runner for each child) and
MINIGRAD_BENCH_QUICK=1 (set by `--quick`: fewer repeats; modules may also shrink their cases).
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import importlib
import json
import math
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROW_KEYS = ("group", "case", "minigrad_ms", "torch_ms", "ratio")
RESULT_MARK = "@@minigrad-bench-result@@ "  # the child's one line of JSON, whatever else it prints
QUICK_ENV = "MINIGRAD_BENCH_QUICK"
THREAD_VARS = ("MINIGRAD_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def quick() -> bool:
    """True when the run asked for a quick pass (fewer repeats, smaller cases)."""
    return os.environ.get(QUICK_ENV) == "1"


def median_ms(fn: Callable[[], object], *, warmup: int = 3, repeat: int = 20,
              min_time: float = 0.005) -> float:
    """Median wall time of one fn() call in ms over `repeat` samples (each >= min_time seconds).

    Fast functions are called in a loop inside each sample (the loop count is doubled until a
    sample lasts min_time) so that timer resolution and call overhead of the timer do not dominate.
    """
    if warmup < 0 or repeat < 1 or min_time < 0:
        raise ValueError(f"median_ms: need warmup >= 0, repeat >= 1, min_time >= 0, received "
                         f"warmup={warmup}, repeat={repeat}, min_time={min_time}")
    if quick():
        warmup, repeat = min(warmup, 1), min(repeat, 5)
    for _ in range(warmup):
        fn()
    number = 1
    while True:
        elapsed = _time_loop(fn, number)
        if elapsed >= min_time or number >= 1 << 20:
            break
        number *= 2
    samples = [elapsed / number]
    samples += [_time_loop(fn, number) / number for _ in range(repeat - 1)]
    return statistics.median(samples) * 1e3


def _time_loop(fn: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - start


def torch_or_none() -> ModuleType | None:
    """torch with its thread count set to this run's, or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    threads = os.environ.get("MINIGRAD_NUM_THREADS")
    if threads:
        torch.set_num_threads(int(threads))
    return torch


def keep_freed_memory() -> bool:
    """glibc: no mmap for big blocks and no trimming, so freed buffers are reused without faults."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    m_trim_threshold, m_mmap_threshold, m_mmap_max = -1, -3, -4
    ok = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024) and libc.mallopt(m_mmap_max, 0)
    return bool(ok and libc.mallopt(m_trim_threshold, 2**31 - 1))


Cases = dict[str, Callable[[], object]]
Measured = tuple[float, float]  # (median ms, minor page faults) per call


def malloc_phases(minigrad_cases: Callable[[], Cases], torch_cases: Callable[[Any, bool], Cases],
                  measure: Callable[[Cases], dict[str, Measured]],
                  ) -> list[tuple[str, str, str | None, Measured, tuple[float | None, float | None]]]:
    """(phase, case, torch label or None, minigrad's, torch's) under default malloc, then kept malloc."""
    torch = torch_or_none()
    setups = [("NCHW", False), ("channels_last", True)]
    out = []
    for phase in ("default malloc", "kept malloc"):  # default first: keep_freed_memory is never undone
        if phase == "kept malloc" and not keep_freed_memory():
            break
        mine = measure(minigrad_cases())
        theirs = {label: measure(torch_cases(torch, cl)) for label, cl in setups} if torch else {}
        for case, measured in mine.items():
            for label in list(theirs) or [None]:
                out.append((phase, case, label, measured, theirs[label][case] if label else (None, None)))
        setups = [("channels_last", True)]  # the targets are against torch's strongest setup only
    return out


def row(group: str, case: str, minigrad_ms: float | None, torch_ms: float | None,
        extra: str = "") -> dict[str, Any]:
    """One result row; ratio = minigrad_ms / torch_ms (None when either side is missing)."""
    ratio = minigrad_ms / torch_ms if minigrad_ms is not None and torch_ms else None
    return {"group": group, "case": case, "minigrad_ms": minigrad_ms, "torch_ms": torch_ms,
            "ratio": ratio, "extra": extra}


def check_rows(rows: object, module: str) -> list[dict[str, Any]]:
    """Check a module's run() result against the row contract; TypeError if it breaks it."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TypeError(f"{module}.run must return a list of dicts, received {type(rows).__name__}")
    for r in rows:
        missing = [k for k in ROW_KEYS if k not in r]
        if missing:
            raise TypeError(f"{module}.run returned a row without {missing}: {r}")
        for key in ("minigrad_ms", "torch_ms", "ratio"):
            if r[key] is not None and not isinstance(r[key], (int, float)):
                raise TypeError(
                    f"{module}.run returned {key}={r[key]!r}, expected a number or None")
    return rows


def child_main(module: str, threads: int) -> int:
    """In a fresh process: import benchmarks.<module>, run it, print one marked JSON line."""
    try:
        mod = importlib.import_module(f"benchmarks.{module}")
        rows = check_rows(mod.run(threads), module)
        result: dict[str, Any] = {"rows": rows}
    except BaseException as exc:  # report every failure, including SystemExit from a module
        where = traceback.extract_tb(exc.__traceback__)[-1]
        result = {"error": f"{type(exc).__name__}: {exc} (at {Path(where.filename).name}:"
                           f"{where.lineno} in {where.name})", "traceback": traceback.format_exc()}
    sys.stdout.flush()
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0 if "rows" in result else 1


def standalone(run: Callable[[int], list[dict[str, Any]]]) -> None:
    """`python -m benchmarks.bench_x [--threads 1,2]`: run in this process and print the rows.

    Unlike `python -m benchmarks`, all thread counts share one process.
    """
    parser = argparse.ArgumentParser(description="Run one benchmark module and print its rows.")
    parser.add_argument("--threads", default="1", help="comma-separated thread counts")
    args = parser.parse_args()
    for threads in parse_threads(args.threads):
        os.environ.update({var: str(threads) for var in THREAD_VARS})  # for torch_or_none, children
        if "minigrad" in sys.modules:  # already imported: its env var was read at import time
            sys.modules["minigrad"].set_num_threads(threads)
        for r in check_rows(run(threads), run.__module__):
            print(f"[{threads} thr] {r['group']} | {r['case']}: minigrad {fmt_ms(r['minigrad_ms'])}"
                  f" ms, torch {fmt_ms(r['torch_ms'])} ms, ratio {fmt_ratio(r['ratio'])}"
                  f"{'  ' + r['extra'] if r.get('extra') else ''}")


def parse_threads(text: str) -> list[int]:
    """'1,2' -> [1, 2]; every entry must be a positive int."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise ValueError(f"--threads expects positive ints separated by commas, received {text!r}")
    return counts


def fmt_ms(value: float | None) -> str:
    """Milliseconds with 3 significant digits and no exponent; '—' for None."""
    if value is None:
        return "—"
    if value <= 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = min(9, max(0, 2 - math.floor(math.log10(value))))
    return f"{value:.{decimals}f}"


def fmt_ratio(value: float | None) -> str:
    """Ratio minigrad/torch with two decimals; '—' for None."""
    return "—" if value is None else f"{value:.2f}"

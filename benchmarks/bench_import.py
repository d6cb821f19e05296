"""Cost of `import minigrad` vs `import torch`: import time, fresh-interpreter wall time, RSS.

Each measurement is a fresh interpreter started from the repository root (so the checkout's
minigrad is the one imported); medians over several runs. Targets: < 150 ms, < 80 MiB.
"""
from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import harness

ROOT = Path(__file__).resolve().parents[1]
GROUP = "import"
_RSS = (
    "import re, sys; {stmt}; "
    "print(re.search(r'VmRSS:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1))"
)


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"python {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    return proc


def importtime_ms(module: str) -> float:
    """Cumulative import time of `module` reported by `python -X importtime`, in ms."""
    stderr = _python("-X", "importtime", "-c", f"import {module}").stderr
    for line in stderr.splitlines():
        # "import time: self [us] | cumulative | imported package"; top level has one space
        parts = line.split("|")
        if len(parts) == 3 and parts[2].rstrip() == f" {module}":
            return int(parts[1]) / 1e3
    raise RuntimeError(f"python -X importtime printed no line for {module!r}")


def wall_and_rss(stmt: str) -> tuple[float, float]:
    """Wall time (ms) of a fresh `python -c stmt` and its VmRSS (MiB) right after stmt."""
    start = time.perf_counter()
    out = _python("-c", _RSS.format(stmt=stmt)).stdout
    return (time.perf_counter() - start) * 1e3, int(out.split()[-1]) / 1024


def measure(module: str | None, repeat: int) -> dict[str, float]:
    """Medians of importtime, wall time and RSS for `import module` (None: bare interpreter)."""
    stmt = f"import {module}" if module else "pass"
    _python("-c", stmt)  # warm the bytecode and file caches
    walls, rss = zip(*(wall_and_rss(stmt) for _ in range(repeat)))
    result = {"wall_ms": statistics.median(walls), "rss_mib": statistics.median(rss)}
    if module:
        result["importtime_ms"] = statistics.median(importtime_ms(module) for _ in range(repeat))
    return result


def run(threads: int) -> list[dict]:
    """Rows for the import group (thread count only reaches the children through the env)."""
    repeat = 3 if harness.quick() else 7
    bare = measure(None, repeat)
    # numpy is minigrad's floor: the rest is what minigrad itself costs
    numpy_ms = statistics.median(importtime_ms("numpy") for _ in range(repeat))
    mg = measure("minigrad", repeat)
    has_torch = importlib.util.find_spec("torch") is not None  # found without importing it here
    pt = measure("torch", max(2, repeat // 2)) if has_torch else None

    def other(key: str) -> float | None:
        return pt[key] if pt else None

    rss_ratio = f", ratio {mg['rss_mib'] / pt['rss_mib']:.2f}" if pt else ""
    rss_torch = f", PyTorch {pt['rss_mib']:.1f} MiB" if pt else ""
    return [
        harness.row(GROUP, "import time (python -X importtime, cumulative)",
                    mg["importtime_ms"], other("importtime_ms"),
                    f"target < 150 ms; numpy alone {numpy_ms:.1f} ms"),
        harness.row(GROUP, "fresh interpreter running the import (wall)", mg["wall_ms"],
                    other("wall_ms"), f"bare interpreter {bare['wall_ms']:.1f} ms"),
        harness.row(GROUP, "resident memory after import (VmRSS, MiB: see extra)", None, None,
                    f"minigrad {mg['rss_mib']:.1f} MiB{rss_torch}{rss_ratio}; bare interpreter "
                    f"{bare['rss_mib']:.1f} MiB; target < 80 MiB"),
    ]


if __name__ == "__main__":
    harness.standalone(run)

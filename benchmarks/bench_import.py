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


def importtime(module: str) -> list[tuple[str, int, float]]:
    """(name, depth, cumulative ms) per line of `python -X importtime -c "import module"`."""
    stderr = _python("-X", "importtime", "-c", f"import {module}").stderr
    entries = []
    for line in stderr.splitlines():
        # "import time: self [us] | cumulative | imported package"; one space per nesting level
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            entries.append((name.strip(), len(name) - len(name.lstrip()), int(parts[1]) / 1e3))
    return entries


def importtime_ms(module: str) -> float:
    """Cumulative import time of `module` reported by `python -X importtime`, in ms."""
    for name, depth, ms in importtime(module):
        if name == module and depth == 1:
            return ms
    raise RuntimeError(f"python -X importtime printed no line for {module!r}")


def heaviest_foreign(module: str, top: int = 3) -> str:
    """The costliest imports that `module`'s own submodules trigger in other packages."""
    entries = importtime(module)
    found = []
    for i, (name, depth, ms) in enumerate(entries):
        # children are printed before their parent: the parent is the next line less indented
        parent = next((n for n, d, _ in entries[i + 1:] if d < depth), None)
        if parent and parent.split(".")[0] == module and name.split(".")[0] != module:
            found.append((ms, name, parent))
    found.sort(reverse=True)
    return ", ".join(f"{name} {ms:.0f} ms (by {parent})" for ms, name, parent in found[:top])


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
                    f"target < 150 ms; numpy alone {numpy_ms:.1f} ms; heaviest imports of other "
                    f"packages (one run): {heaviest_foreign('minigrad')}"),
        harness.row(GROUP, "fresh interpreter running the import (wall)", mg["wall_ms"],
                    other("wall_ms"), f"bare interpreter {bare['wall_ms']:.1f} ms"),
        harness.row(GROUP, "resident memory after import (VmRSS, MiB: see extra)", None, None,
                    f"minigrad {mg['rss_mib']:.1f} MiB{rss_torch}{rss_ratio}; bare interpreter "
                    f"{bare['rss_mib']:.1f} MiB; target < 80 MiB"),
    ]


if __name__ == "__main__":
    harness.standalone(run)

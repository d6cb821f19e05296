"""Cost of `import minigrad` vs `import torch`: import time, fresh-interpreter wall time, RSS.

Each measurement is a fresh interpreter started from the repository root (so the checkout's
minigrad is the one imported) with the harness's child environment; the statements alternate
(bare, minigrad, torch, bare, minigrad, torch, ...) and the figures are medians over the rounds.
Targets: < 150 ms, < 80 MiB. Thread counts do not matter here: `python -m benchmarks` runs this
module once.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import harness, table

ROOT = Path(__file__).resolve().parents[1]
GROUP = "import"
THREAD_INDEPENDENT = True
TARGET_MS, TARGET_MIB = 150, 80
_RSS = (
    "import re, sys; {stmt}; "
    "print(re.search(r'VmRSS:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1))"
)


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env=harness.child_env(harness.MINIGRAD, 1))
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


def alternate(modules: list[str | None], n_rounds: int
              ) -> tuple[dict[str | None, dict[str, float]], str]:
    """Medians of wall time, RSS and importtime per module (None: bare interpreter), alternated;
    and the range of the load averages seen."""
    for module in modules:  # warm the bytecode and file caches
        _python("-c", f"import {module}" if module else "pass")
    samples: dict[str | None, list[dict[str, float]]] = {m: [] for m in modules}
    loads = []
    for _ in range(n_rounds):
        loads.append(harness.loadavg())
        for module in modules:
            wall, rss = wall_and_rss(f"import {module}" if module else "pass")
            sample = {"wall_ms": wall, "rss_mib": rss}
            if module:
                sample["importtime_ms"] = importtime_ms(module)
            samples[module].append(sample)
    found = {m: {k: statistics.median(s[k] for s in runs) for k in runs[0]}
             for m, runs in samples.items()}
    return found, harness.load_range([x for x in loads if x is not None])


def run(threads: int) -> list[dict[str, Any]]:
    """Rows for the import group, with the import-time and RSS targets as checks."""
    has_torch = harness.torch_installed()
    n_rounds = harness.rounds(7)
    found, loads = alternate([None, "numpy", "minigrad"] + ["torch"] * has_torch, n_rounds)
    bare, numpy, mg, pt = found[None], found["numpy"], found["minigrad"], found.get("torch")

    def other(key: str) -> float | None:
        return pt[key] if pt else None

    rss_torch = f", PyTorch {pt['rss_mib']:.1f} MiB" if pt else ""
    rows = [
        table.row(GROUP, "import time (python -X importtime, cumulative)",
                    mg["importtime_ms"], other("importtime_ms"),
                    f"numpy alone {numpy['importtime_ms']:.1f} ms; heaviest imports of other "
                    f"packages (one run): {heaviest_foreign('minigrad')}"),
        table.row(GROUP, "fresh interpreter running the import (wall)", mg["wall_ms"],
                    other("wall_ms"), f"bare interpreter {bare['wall_ms']:.1f} ms"),
        table.row(GROUP, "resident memory after import (VmRSS, MiB: see extra)", None, None,
                    f"minigrad {mg['rss_mib']:.1f} MiB{rss_torch}; bare interpreter "
                    f"{bare['rss_mib']:.1f} MiB"),
    ]
    for r in rows:
        r.update(spread=f"medians of {n_rounds} rounds", load=loads)
    table.add_check(rows[0], "import minigrad, ms", mg["importtime_ms"], ceiling=TARGET_MS)
    table.add_check(rows[2], "RSS after import minigrad, MiB", mg["rss_mib"], ceiling=TARGET_MIB)
    rows[0]["readme"] = "import minigrad (python -X importtime)"
    return rows


if __name__ == "__main__":
    harness.standalone(run)

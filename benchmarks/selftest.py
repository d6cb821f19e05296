"""`python -m benchmarks --self-test`: the process machinery on a trivial case, without torch.

Two sides (minigrad, and a bare process with torch best's environment) alternate over two rounds
in fresh processes; check() verifies the order, the separate processes, the thread variables and
that no OMP_WAIT_POLICY, nothing of minigrad, and none of torch best's MALLOC_* variables
reaches the wrong side.
"""
from __future__ import annotations

import os
import sys
from typing import Any

from benchmarks import harness, table

CASE = "sum of range(1000)"


def measure(side: harness.Side, threads: int) -> dict[str, dict[str, Any]]:
    """In one side's process: time a trivial case and say whether minigrad is loaded."""
    timed = harness.time_case(lambda: sum(range(1000)), repeat=3)
    return {CASE: {**timed, "minigrad_loaded": "minigrad" in sys.modules}}


def check(threads: int = 2) -> str:
    """Run the self-test; BenchError naming the broken invariant, else a one-line summary."""
    rows, measured = harness.compare(__name__, "self-test", threads, full_rounds=2,
                                     sides=(harness.MINIGRAD, harness.BARE))
    problems = []
    if measured.order != ["minigrad", "bare"] * 2:
        problems.append(f"order {measured.order}, expected minigrad, bare alternating twice")
    if len(set(measured.pids)) != 4 or os.getpid() in measured.pids:
        problems.append(f"child pids {measured.pids}: expected 4 fresh processes")
    for name, runs in measured.runs.items():
        for run in runs:
            env = run["env"]
            if any(env[v] != str(threads) for v in harness.THREAD_VARS):
                problems.append(f"{name}: thread variables {env}, expected all {threads}")
            kept = {k: env[k] for k in harness.KEEP_MALLOC}
            if kept != (harness.KEEP_MALLOC if name == "bare" else dict.fromkeys(kept)):
                problems.append(f"{name}: MALLOC_* variables {kept}")
            if run["cases"][CASE]["minigrad_loaded"] != (name == "minigrad"):
                problems.append(f"{name}: minigrad loaded = {run['cases'][CASE]['minigrad_loaded']}")
            if name == "bare" and env["OMP_WAIT_POLICY"] is not None:
                problems.append(f"bare: OMP_WAIT_POLICY={env['OMP_WAIT_POLICY']} leaked in")
    if len(rows) != 1 or rows[0]["minigrad_ms"] is None or "2 rounds" not in rows[0]["spread"]:
        problems.append(f"rows {rows}: expected one minigrad row with a 2-round spread")
    if problems:
        raise harness.BenchError("self-test failed: " + "; ".join(problems))
    return (f"self-test ok: {len(measured.pids)} fresh processes in order {measured.order}, "
            f"{CASE} {table.fmt_ms(rows[0]['minigrad_ms'])} ms ({rows[0]['spread']})")

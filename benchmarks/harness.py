"""The shared benchmark machinery: one fresh process per framework and round, alternated A B A B.

A bench module exposes `run(threads: int) -> list[dict]` (docs/CONTRACTS.md) and usually builds it
with `compare`: the module's `measure(side, threads) -> {case: {"ms": ..., ...}}` runs in a fresh
child process per side (minigrad, PyTorch at its strongest, PyTorch as it comes) and per round, the
sides alternating (A B C A B C ...). Each child sets its framework's thread count and sees the
thread variables of THREAD_VARS set identically; nothing of minigrad (its mallopt, its
BLAS pinning) reaches a torch child, which a child checks before it
reports. Rows carry medians over rounds, the spread of the per-round ratios, and optional floors or
targets (`check`) that `python -m benchmarks` flags.
Environment read here: MINIGRAD_BENCH_QUICK=1 (`--quick`: fewer rounds and repeats),
MINIGRAD_BENCH_ROUNDS (`--rounds`: rounds per comparison) and MINIGRAD_BENCH_OTHER_BUILD
(`--other-build DIR`: a second minigrad, e.g. a native build, measured as one more side).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.table import check_rows, describe_check, fmt_ms, fmt_ratio, row

ROOT = Path(__file__).resolve().parent.parent
RESULT_MARK = "@@minigrad-bench-result@@ "  # the child's one line of JSON, whatever else it prints
QUICK_ENV, ROUNDS_ENV = "MINIGRAD_BENCH_QUICK", "MINIGRAD_BENCH_ROUNDS"
OTHER_BUILD_ENV = "MINIGRAD_BENCH_OTHER_BUILD"  # a folder holding another built minigrad package
PATH_ENV = "MINIGRAD_BENCH_MINIGRAD_PATH"  # in a child: import minigrad from this folder
THREAD_VARS = ("MINIGRAD_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# glibc keeps freed memory (no mmap per big block, no trimming): how torch users get it, by env
KEEP_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_MMAP_MAX_": "0",
               "MALLOC_TRIM_THRESHOLD_": "4294967296"}
# The environment as the user started us: every child starts from it. The user's MALLOC_* and
# OMP_WAIT_POLICY are left out: each side runs with what it says (both keep libgomp's wait policy).
BASE_ENV = {k: v for k, v in os.environ.items()
            if k not in (*THREAD_VARS, *KEEP_MALLOC, "OMP_WAIT_POLICY")}


@dataclass(frozen=True)
class Side:
    """One framework setup that runs in processes of its own."""

    name: str
    framework: str | None  # "minigrad", "torch" or None (the self-test's bare side)
    label: str
    channels_last: bool = False
    env: dict[str, str] = field(default_factory=dict)
    entry: str = "measure"  # the module function its child calls: entry(side, threads)


MINIGRAD = Side("minigrad", "minigrad", "minigrad")
TORCH_BEST = Side("torch-best", "torch", "torch best (channels_last, kept malloc)",
                  channels_last=True, env=KEEP_MALLOC)
TORCH = Side("torch", "torch", "torch as it comes")
# no framework, with torch best's env: the self-test's stand-in for a torch side (no torch needed)
BARE = Side("bare", None, "no framework (kept malloc)", env=KEEP_MALLOC)


def other_build() -> Side | None:
    """The side of the second minigrad build named by --other-build, if any."""
    folder = os.environ.get(OTHER_BUILD_ENV)
    if not folder:
        return None
    return Side("minigrad-other", "minigrad", f"minigrad built in {folder}", env={PATH_ENV: folder})


class BenchError(RuntimeError):
    """A child process failed or reported something the harness cannot use."""


def quick() -> bool:
    """True when the run asked for a quick pass (fewer rounds and repeats, smaller cases)."""
    return os.environ.get(QUICK_ENV) == "1"


def rounds(full: int, quick_rounds: int = 2) -> int:
    """Rounds per comparison: --rounds if given, else `quick_rounds` under --quick, else `full`."""
    raw = os.environ.get(ROUNDS_ENV)
    return int(raw) if raw else quick_rounds if quick() else full


def torch_installed() -> bool:
    """Whether this interpreter can import torch (looked up without importing it)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def loadavg() -> float | None:
    """The 1-minute load average, or None where the OS does not tell."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


# ---- in the child: timing -------------------------------------------------------------------

def time_case(fn: Callable[[], object], *, per: int = 1, warmup: int = 2, repeat: int = 11,
              min_time: float = 0.005) -> dict[str, float]:
    """{'ms': median ms per unit, 'faults': minor page faults per unit} over `repeat` samples.

    One call does `per` units (steps, ops). Fast functions are called in a loop inside each sample
    (doubled until a sample lasts min_time) so that the timer's resolution does not dominate.
    """
    if warmup < 0 or repeat < 1 or min_time < 0 or per < 1:
        raise ValueError(f"time_case: need warmup >= 0, repeat >= 1, min_time >= 0, per >= 1, "
                         f"received {warmup}, {repeat}, {min_time}, {per}")
    if quick():
        warmup, repeat = min(warmup, 1), min(repeat, 5)
    for _ in range(warmup):
        fn()
    number = 1
    while min_time and _time_loop(fn, number) < min_time and number < 1 << 20:
        number *= 2
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    samples = [_time_loop(fn, number) / number for _ in range(repeat)]
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return {"ms": statistics.median(samples) * 1e3 / per, "faults": faults / (repeat * number * per)}


def _time_loop(fn: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - start


def setup_framework(side: Side, threads: int) -> Any:
    """Import the side's framework and give it `threads` threads; returns the module (or None)."""
    if side.framework == "minigrad":
        import minigrad

        minigrad.set_num_threads(threads)
        return minigrad
    if side.framework == "torch":
        import torch

        torch.set_num_threads(threads)
        return torch
    return None


def side_main(module: str, side_json: str, threads: int) -> int:
    """In a fresh process: run the side's entry of `module`, print one marked JSON line."""
    side = Side(**json.loads(side_json))
    if os.environ.get(PATH_ENV):  # after benchmarks' own import: only minigrad comes from there
        sys.path.insert(0, os.environ[PATH_ENV])
    try:
        framework = setup_framework(side, threads)
        cases = getattr(importlib.import_module(module), side.entry)(side, threads)
        where = os.environ.get(PATH_ENV)
        if where and not str(getattr(framework, "__file__", "")).startswith(where):
            raise BenchError(f"{side.name}: minigrad came from {framework.__file__}, not {where}")
        if side.framework != "minigrad" and "minigrad" in sys.modules:
            raise BenchError(f"{module}: the {side.name} child imported minigrad, whose process-wide "
                             "settings would then apply to it")
        result: dict[str, Any] = {"cases": cases, "pid": os.getpid(),
                                  "imported": getattr(framework, "__file__", None), "env": {
            k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", *THREAD_VARS, *KEEP_MALLOC)}}
    except BaseException as exc:  # report every failure, SystemExit from a module included
        import traceback

        result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    sys.stdout.flush()
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0 if "cases" in result else 1


# ---- in the parent: processes, rounds, medians ----------------------------------------------

def child_env(side: Side, threads: int) -> dict[str, str]:
    """The side's child environment: the user's, the thread counts, and the side's own variables."""
    ours = {var: os.environ[var] for var in (QUICK_ENV, ROUNDS_ENV, OTHER_BUILD_ENV)
            if var in os.environ}
    return {**BASE_ENV, **ours, **{var: str(threads) for var in THREAD_VARS}, **side.env}


def spawn(module: str, side: Side, threads: int, *, timeout: float = 1800) -> dict[str, Any]:
    """Run `module.measure(side, threads)` in a fresh interpreter; its result, or BenchError."""
    code = ("import sys; from benchmarks.harness import side_main; "
            f"sys.exit(side_main({module!r}, {json.dumps(asdict(side))!r}, {threads}))")
    try:
        # faulthandler: a crash in a kernel still says where it happened
        proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], cwd=ROOT,
                              env=child_env(side, threads), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{module} ({side.name}, {threads} thr): timed out after {timeout:.0f} s")
    marked = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if not marked:  # crashed before reporting: segfault, killed, broken import
        tail = " / ".join(line.strip() for line in proc.stderr.splitlines()[-6:] if line.strip())
        raise BenchError(f"{module} ({side.name}, {threads} thr): {describe_exit(proc.returncode)} "
                         f"without a result; stderr: {tail or '(empty)'}")
    result = json.loads(marked[-1][len(RESULT_MARK):])
    if "error" in result:
        raise BenchError(f"{module} ({side.name}, {threads} thr): {result['error']}\n"
                         f"{result.get('traceback', '')}")
    return result


def describe_exit(code: int) -> str:
    """'exit code 3' or 'killed by SIGSEGV'."""
    import signal

    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


@dataclass
class Rounds:
    """What alternate() measured: per side, one child result per round; loads, order and pids."""

    runs: dict[str, list[dict[str, Any]]]
    loads: list[float]
    order: list[str]
    pids: list[int]

    def median(self, side: str, case: str, key: str = "ms") -> float | None:
        """Median of `key` over the rounds for one side and case (None if never measured)."""
        values = [r["cases"][case][key] for r in self.runs.get(side, []) if case in r["cases"]
                  and r["cases"][case].get(key) is not None]
        return statistics.median(values) if values else None

    def ratios(self, side: str, case: str) -> list[float]:
        """minigrad / side per round: both measured in the same round, so under the same load."""
        return [m["cases"][case]["ms"] / t["cases"][case]["ms"]
                for m, t in zip(self.runs["minigrad"], self.runs.get(side, []))
                if case in m["cases"] and case in t["cases"] and t["cases"][case]["ms"]]


def alternate(module: str, sides: Sequence[Side], threads: int, n_rounds: int,
              *, timeout: float = 1800) -> Rounds:
    """n_rounds rounds, each running every side once, in a fresh process each: A B A B ..."""
    if n_rounds < 1:
        raise ValueError(f"alternate: n_rounds must be >= 1, received {n_rounds}")
    if module == "__main__":  # `python -m benchmarks.bench_x`: the children import it by name
        module = sys.modules["__main__"].__spec__.name
    out = Rounds({s.name: [] for s in sides}, [], [], [])
    for _ in range(n_rounds):
        for side in sides:
            if (load := loadavg()) is not None:
                out.loads.append(load)
            result = spawn(module, side, threads, timeout=timeout)
            out.runs[side.name].append(result)
            out.order.append(side.name)
            out.pids.append(result["pid"])
    return out


def compare(module: str, group: str, threads: int, *, full_rounds: int = 5,
            sides: Sequence[Side] = (MINIGRAD, TORCH_BEST, TORCH),
            describe: Callable[[str, dict, dict | None], str] | None = None,
            timeout: float = 1800) -> tuple[list[dict[str, Any]], Rounds]:
    """Rows comparing minigrad with each torch side, case by case, and the raw rounds.

    Torch sides are dropped (rows keep torch_ms=None) when torch is not installed; --other-build
    adds its side, whose time then fills the torch column of rows "vs minigrad built in ...".
    `describe(case, minigrad medians, other side's medians or None)` writes a row's `extra`.
    """
    if not torch_installed():
        sides = [s for s in sides if s.framework != "torch"]
    if (other := other_build()) is not None and MINIGRAD in sides:
        sides = [*sides, other]
    measured = alternate(module, sides, threads, rounds(full_rounds), timeout=timeout)
    rows = []
    for case in measured.runs["minigrad"][0]["cases"]:
        mine = medians(measured, "minigrad", case)
        # a case only minigrad has (a variant of its own, a reference figure) gets one row
        against = [s for s in sides if s.name != MINIGRAD.name and s.framework
                   and medians(measured, s.name, case)]
        for side in against or [None]:
            theirs = medians(measured, side.name, case) if side else None
            extra = describe(case, mine, theirs) if describe else ""
            r = row(group, f"{case} vs {side.label}" if side else case, mine.get("ms"),
                    theirs.get("ms") if theirs else None, extra)
            r.update(spread=spread(measured, side.name, case) if side else own_spread(
                measured, case), rounds=len(measured.runs["minigrad"]), side=side and side.name,
                base_case=case, load=load_range(measured.loads))
            rows.append(r)
    return rows, measured


def medians(measured: Rounds, side: str, case: str) -> dict[str, Any] | None:
    """Every numeric field of one side's case, as its median over the rounds; other fields once."""
    runs = [r["cases"][case] for r in measured.runs.get(side, []) if case in r["cases"]]
    if not runs:
        return None
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = measured.median(side, case, key)
    return out


def spread(measured: Rounds, side: str, case: str) -> str:
    """The per-round ratios' range ('0.78-0.85 over 5 rounds'), the honest error bar of a ratio."""
    ratios = measured.ratios(side, case)
    if len(ratios) < 2:
        return f"{len(ratios)} round"
    return f"{min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} rounds"


def own_spread(measured: Rounds, case: str, key: str = "ms", side: str = "minigrad") -> str:
    """One side's own range over the rounds, as ± half of it relative to the median."""
    values = [r["cases"][case][key] for r in measured.runs[side] if case in r["cases"]
              and r["cases"][case].get(key)]
    if len(values) < 2:
        return f"{len(values)} round"
    mid = statistics.median(values)
    return f"±{50 * (max(values) - min(values)) / mid:.0f}% over {len(values)} rounds"


def load_range(loads: list[float]) -> str:
    """'0.1-2.3' for the loads seen before each child, or '?' where the OS does not tell."""
    return f"{min(loads):.1f}-{max(loads):.1f}" if loads else "?"


def standalone(run: Callable[[int], list[dict[str, Any]]]) -> None:
    """`python -m benchmarks.bench_x [--threads 1,2] [--quick]`: run one module, print its rows."""
    parser = argparse.ArgumentParser(description="Run one benchmark module and print its rows.")
    parser.add_argument("--threads", default="1", help="comma-separated thread counts")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and repeats")
    args = parser.parse_args()
    os.environ[QUICK_ENV] = "1" if args.quick else os.environ.get(QUICK_ENV, "0")
    for threads in parse_threads(args.threads):
        for r in check_rows(run(threads), run.__module__):
            print(f"[{threads} thr] {r['group']} | {r['case']}: minigrad {fmt_ms(r['minigrad_ms'])}"
                  f" ms, torch {fmt_ms(r['torch_ms'])} ms, ratio {fmt_ratio(r['ratio'])}"
                  f"{' (' + r['spread'] + ')' if r.get('spread') else ''}"
                  f"{'  ' + r['extra'] if r.get('extra') else ''}")
            if r.get("check"):
                print(f"    check: {describe_check(r['check'])}")


def parse_threads(text: str) -> list[int]:
    """'1,2' -> [1, 2]; every entry must be a positive int."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise ValueError(f"--threads expects positive ints separated by commas, received {text!r}")
    return counts


def torch_reference_cnn(torch: Any) -> Any:
    """The reference CNN in PyTorch (logits out; the softmax lives in CrossEntropyLoss), seeded 0:
    the one definition every torch side of the benchmarks measures."""
    nn = torch.nn
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))

"""`python -m benchmarks [--threads 1,2] [--only NAME ...] [--quick] [--rounds N] [--self-test]`:
run every bench_*.py module and write benchmarks/RESULTS.md.

Every measurement runs in a fresh child process per framework and round (benchmarks.harness):
this runner only starts processes, and never imports minigrad or torch itself.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import harness, report, selftest, table

BENCH_DIR = Path(__file__).resolve().parent
NO_TORCH = ("PyTorch is not installed in {python}: every PyTorch column stays empty. Install the "
            "reference with `pip install \".[bench]\"` (torch==2.13.0, the CPU build).")


# modules with their own launcher, not a run(threads): python -m benchmarks.bench_distributed (mpiexec),
# python -m benchmarks.bench_step_ops (op by op inside a training step)
STANDALONE = frozenset({"bench_distributed", "bench_step_ops"})


def discover() -> list[str]:
    """Names of every benchmarks/bench_*.py module run by this runner, sorted."""
    return sorted(p.stem for p in BENCH_DIR.glob("bench_*.py") if p.stem not in STANDALONE)


def select(available: list[str], only: list[str] | None) -> list[str]:
    """The modules --only asks for ('conv' or 'bench_conv'); unknown names raise ValueError."""
    if not only:
        return available
    chosen = [n if n.startswith("bench_") else f"bench_{n}" for n in only]
    unknown = [n for n in chosen if n not in available]
    if unknown:
        raise ValueError(f"--only: unknown benchmark {unknown}; available: {available}")
    return [n for n in available if n in chosen]


def run_module(name: str, threads: int) -> dict[str, Any]:
    """{'rows': [...]} from benchmarks.<name>.run(threads), or {'error': ...}; never raises."""
    try:
        module = importlib.import_module(f"benchmarks.{name}")
        return {"rows": table.check_rows(module.run(threads), name)}
    except Exception as exc:  # one broken module must not cost the whole report
        text = f"{type(exc).__name__}: {exc}"
        return {"error": text.splitlines()[0], "detail": text}


def describe_machine() -> dict[str, Any]:
    """benchmarks.machine.collect() from a child process (it imports minigrad)."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.machine"], cwd=harness.ROOT,
                          env=harness.child_env(harness.MINIGRAD, 1), capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip()[-1000:] or harness.describe_exit(proc.returncode)}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _loads() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _busy() -> str:
    """A warning when other work already loads the machine (the figures then say little)."""
    load, cores = harness.loadavg(), os.cpu_count() or 1
    if load is None or load <= 0.5 * cores:
        return ""
    return (f"The machine was busy when this run started (1-minute load {load:.1f} on {cores} "
            "cores): ratios hold only roughly; rerun on a quiet machine for figures to quote.")


def _parse(argv: list[str] | None) -> tuple[argparse.Namespace, list[int], list[str]]:
    """The command line, checked: (arguments, thread counts, module names)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (1,2)")
    parser.add_argument("--only", nargs="+", action="extend", metavar="NAME",
                        help="run only these modules (import or bench_import)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds, repeats and images")
    parser.add_argument("--rounds", type=int, help="rounds per comparison (default: 5 for most "
                        "modules, 2 with --quick)")
    parser.add_argument("--other-build", type=Path, metavar="DIR",
                        help="a folder holding a second built minigrad package (e.g. a native "
                             "build's build/lib.*): measured as one more side, alternated")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "RESULTS.md")
    parser.add_argument("--self-test", action="store_true",
                        help="check the process machinery on a trivial case (no torch), then exit")
    args = parser.parse_args(argv)
    try:
        threads = harness.parse_threads(args.threads)
        modules = select(discover(), args.only)
        if args.rounds is not None and args.rounds < 1:
            raise ValueError(f"--rounds must be >= 1, received {args.rounds}")
        if args.other_build and not (args.other_build / "minigrad" / "__init__.py").is_file():
            raise ValueError(f"--other-build: {args.other_build} holds no minigrad package")
    except ValueError as exc:
        parser.error(str(exc))
    return args, threads, modules


def _run_all(modules: list[str], threads: list[int]) -> list[dict]:
    """Every module at each thread count (once if it declares THREAD_INDEPENDENT), in child processes."""
    results = []
    for name in modules:
        thread_independent = getattr(importlib.import_module(f"benchmarks.{name}"),
                                     "THREAD_INDEPENDENT", False)
        for n in threads[:1] if thread_independent else threads:
            t0 = time.perf_counter()
            res = run_module(name, n)
            results.append({**res, "module": name, "threads": n})
            status = f"{len(res['rows'])} rows" if "rows" in res else f"FAILED: {res['detail']}"
            print(f"{name} threads={n}: {status} ({time.perf_counter() - t0:.1f} s, "
                  f"load {_loads()})", file=sys.stderr, flush=True)
    return results


def _header(command: str, started: datetime.datetime, args: argparse.Namespace, busy: str) -> list[str]:
    header = [
        "# minigrad benchmark results", "",
        f"Written by `{command.strip()}` on {started:%Y-%m-%d %H:%M} UTC"
        + (" with `--quick` (fewer rounds and repeats: indicative only)." if args.quick else "."),
        "Every framework runs in fresh processes of its own, one per round, the sides alternating "
        "(minigrad, torch best, torch as it comes, minigrad, ...). Times are the medians over the "
        "rounds (each round's figure is a median over repeated calls) in milliseconds; ratio = "
        "minigrad / PyTorch (below 1: minigrad is faster); spread is the range of the per-round "
        "ratios. \"torch best\" runs channels_last with glibc told to keep freed memory (MALLOC_* "
        "variables in its environment); \"torch as it comes\" runs NCHW with default malloc. "
        "minigrad runs as it comes (its import tunes malloc in its own process).",
    ]
    if args.other_build:
        header += ["", f"Rows \"vs minigrad built in {args.other_build.resolve()}\" hold that second "
                   "build's time in the PyTorch column (ratio = this checkout's build / that one)."]
    if not harness.torch_installed():
        header += ["", "**" + NO_TORCH.format(python=sys.executable) + "**"]
    if busy:
        header += ["", f"**{busy}**"]
    return header


def main(argv: list[str] | None = None) -> int:
    """Run the selected modules at each thread count and write the report; 1 if any failed."""
    args, threads, modules = _parse(argv)
    os.environ[harness.QUICK_ENV] = "1" if args.quick else "0"
    if args.rounds:
        os.environ[harness.ROUNDS_ENV] = str(args.rounds)
    if args.other_build:
        os.environ[harness.OTHER_BUILD_ENV] = str(args.other_build.resolve())
    if args.self_test:
        print(selftest.check(), file=sys.stderr)
        return 0
    if not harness.torch_installed():
        print("WARNING: " + NO_TORCH.format(python=sys.executable), file=sys.stderr)
    busy = _busy()
    if busy:
        print("WARNING: " + busy, file=sys.stderr)
    started, loads = datetime.datetime.now(datetime.timezone.utc), {"before": _loads()}
    machine = describe_machine()
    results = _run_all(modules, threads)
    loads["after"] = _loads()
    command = "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:])
    header = _header(command, started, args, busy)
    args.output.write_text(report.render(results, header, machine, threads, loads))
    for line in report.check_lines(results):
        print(line, file=sys.stderr)
    print(f"wrote {args.output}", file=sys.stderr)
    return 1 if any("error" in res for res in results) else 0


if __name__ == "__main__":
    sys.exit(main())

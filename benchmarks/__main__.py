"""`python -m benchmarks [--threads 1,2] [--only NAME ...] [--quick]`: run every bench_*.py module
and write benchmarks/RESULTS.md.

Each (module, thread count) runs in a fresh child process so that thread settings, BLAS pools and
torch's import never leak from one case into another.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import harness

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


def discover() -> list[str]:
    """Names of every benchmarks/bench_*.py module, sorted."""
    return sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))


def select(available: list[str], only: list[str] | None) -> list[str]:
    """The modules --only asks for ('conv' or 'bench_conv'); unknown names raise ValueError."""
    if not only:
        return available
    chosen = [n if n.startswith("bench_") else f"bench_{n}" for n in only]
    unknown = [n for n in chosen if n not in available]
    if unknown:
        raise ValueError(f"--only: unknown benchmark {unknown}; available: {available}")
    return [n for n in available if n in chosen]


def run_child(module: str, threads: int, *, quick: bool, timeout: float) -> dict[str, Any]:
    """One module at one thread count in a fresh interpreter: {'rows': [...]} or {'error': ...}."""
    env = dict(os.environ, **{var: str(threads) for var in harness.THREAD_VARS})
    env[harness.QUICK_ENV] = "1" if quick else "0"
    code = ("import sys; from benchmarks.harness import child_main; "
            f"sys.exit(child_main({module!r}, {threads}))")
    try:
        # faulthandler: a crash in a kernel still tells where it happened
        proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    marked = [line for line in proc.stdout.splitlines() if line.startswith(harness.RESULT_MARK)]
    if not marked:  # crashed before reporting (segfault, killed, broken import of the harness)
        how = _describe_exit(proc.returncode)
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        shown = lines if len(lines) <= 6 else [*lines[:3], "...", *lines[-3:]]
        return {"error": f"{how} without a result; stderr: {' / '.join(shown) or '(empty)'}"}
    return json.loads(marked[-1][len(harness.RESULT_MARK):])


def _describe_exit(code: int) -> str:
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def machine_info(threads: list[int]) -> list[str]:
    """Markdown bullet lines: CPU model, cores, threads used, BLAS and OpenMP libraries."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
              if line.startswith("model name")]
    physical = _physical_cores(cpuinfo)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        f"- CPU: {models[0] if models else platform.processor() or 'unknown'}",
        f"- Cores: {os.cpu_count()} logical"
        + (f", {physical} physical" if physical else "")
        + f", {usable} usable by this process",
        f"- Threads used: {', '.join(map(str, threads))} "
        f"(each run sets {', '.join(harness.THREAD_VARS)})",
    ]
    return lines + [f"- {lib}" for lib in _native_libraries()]


def _physical_cores(cpuinfo: str) -> int:
    pairs, phys = set(), None
    for line in cpuinfo.splitlines():
        if line.startswith("physical id"):
            phys = line.split(":", 1)[1].strip()
        elif line.startswith("core id"):
            pairs.add((phys, line.split(":", 1)[1].strip()))
    return len(pairs)


def _native_libraries() -> list[str]:
    """BLAS and OpenMP runtimes loaded by numpy, scipy and minigrad (threadpoolctl's view)."""
    import numpy  # noqa: F401  (loaded so that threadpoolctl sees their BLAS)
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_info

    try:
        import minigrad  # noqa: F401  (loads minigrad's OpenMP runtime)
    except Exception:  # its failure is reported under Versions
        pass
    out = []
    for info in threadpool_info():
        lib = Path(info["filepath"])
        desc = ", ".join(str(info[k]) for k in ("architecture", "threading_layer") if info.get(k))
        name = " ".join(str(v) for v in (info["internal_api"], info.get("version")) if v)
        line = (f"{info['user_api'].upper()}: {name}{f' ({desc})' if desc else ''}, "
                f"{lib.parent.name}/{lib.name}")
        if lib.parent.name == "scipy.libs":  # minigrad's _blas calls scipy.linalg.cython_blas
            line += " (the BLAS minigrad calls)"
        out.append(line)
    return out or ["BLAS: none found by threadpoolctl"]


def versions() -> list[str]:
    """Markdown bullet lines with the versions that matter for the numbers."""
    def dist(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    try:
        import minigrad

        mg = f"{minigrad.__version__} (OpenMP: {minigrad.openmp_available()})"
    except Exception as exc:
        mg = f"import failed: {type(exc).__name__}: {exc}"
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, text=True,
                            capture_output=True).stdout.strip() or "unknown"
    return [
        f"- Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}",
        f"- minigrad {mg}, commit {commit}",
        f"- numpy {dist('numpy')}, scipy {dist('scipy')}, threadpoolctl {dist('threadpoolctl')}",
        f"- PyTorch {dist('torch')}",
    ]


def render(results: list[dict[str, Any]], header: list[str]) -> str:
    """RESULTS.md text: header, one table per group (in first-seen order), then failures."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for res in results:
        for r in res.get("rows", []):
            groups.setdefault(str(r["group"]), []).append({**r, "threads": res["threads"]})
    out = header
    for group, rows in groups.items():
        first_seen = {case: i for i, case in reversed(list(enumerate(r["case"] for r in rows)))}
        # each case's thread counts side by side
        rows.sort(key=lambda r: (first_seen[r["case"]], r["threads"]))
        out += ["", f"## {group}", "",
                "| case | threads | minigrad (ms) | PyTorch (ms) | ratio | extra |",
                "|---|---:|---:|---:|---:|---|"]
        out += [f"| {_cell(r['case'])} | {r['threads']} | {harness.fmt_ms(r['minigrad_ms'])} | "
                f"{harness.fmt_ms(r['torch_ms'])} | {harness.fmt_ratio(r['ratio'])} | "
                f"{_cell(r.get('extra', ''))} |" for r in rows]
    failed = [res for res in results if "error" in res]
    if failed:
        out += ["", "## Failed", "", "| module | threads | error |", "|---|---:|---|"]
        out += [f"| {res['module']} | {res['threads']} | {_cell(res['error'])} |" for res in failed]
    return "\n".join(out) + "\n"


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def main(argv: list[str] | None = None) -> int:
    """Run the selected modules at each thread count and write the report; 1 if any failed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (1,2)")
    parser.add_argument("--only", nargs="+", action="extend", metavar="NAME",
                        help="run only these modules (import or bench_import)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller cases")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per module run")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "RESULTS.md")
    args = parser.parse_args(argv)
    try:
        threads = harness.parse_threads(args.threads)
        modules = select(discover(), args.only)
    except ValueError as exc:
        parser.error(str(exc))
    started = datetime.datetime.now(datetime.timezone.utc)
    results = []
    for module in modules:
        for n in threads:
            t0 = time.perf_counter()
            res = run_child(module, n, quick=args.quick, timeout=args.timeout)
            results.append({**res, "module": module, "threads": n})
            status = f"{len(res['rows'])} rows" if "rows" in res else f"FAILED: {res['error']}"
            if "traceback" in res:
                print(res["traceback"], file=sys.stderr)
            print(f"{module} threads={n}: {status} ({time.perf_counter() - t0:.1f} s)",
                  file=sys.stderr, flush=True)
    command = "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:])
    header = [
        "# minigrad benchmark results", "",
        f"Written by `{command.strip()}` on {started:%Y-%m-%d %H:%M} UTC"
        + (" with `--quick` (fewer repeats: indicative only)." if args.quick else "."),
        "Times are medians in milliseconds; ratio = minigrad / PyTorch measured in the same run "
        "(below 1: minigrad is faster). Every module runs in a fresh process per thread count.",
        "", "## Machine", "", *machine_info(threads), "", "## Versions", "", *versions(),
    ]
    args.output.write_text(render(results, header))
    print(f"wrote {args.output}", file=sys.stderr)
    return 1 if any("error" in res for res in results) else 0


if __name__ == "__main__":
    sys.exit(main())
